#!/usr/bin/env bash
# The Airflow pools Kaizen's DAGs use, created or resized: every stack runs this one file (the
# embedded stack after `airflow db migrate`, compose's airflow-init, Terraform's setup Job).
set -euo pipefail
# One slot (kaizen.config.REGISTRY_POOL): the tasks that move @champion or delete versions
# (gate, deploy, retention) run one at a time across all DAGs, so no decision is made against a
# champion that another run is about to replace.
airflow pools set kaizen_registry 1 "Tasks that move @champion: one at a time across all DAGs" >/dev/null
echo "pool kaizen_registry: 1 slot"
