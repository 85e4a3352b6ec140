"""The tags Kaizen writes on the registry's versions and on training runs.

One stage writes each and others read it (the deploy form, retention, the manifest store, the
maturity evidence, tests), so every name is spelt here once.
"""

# On a version (and the training run), by the gate: promoted, refused, or stale (the champion
# moved meanwhile); why; and the champion version the decision was made against.
DECISION = "kaizen.gate.decision"
REASON = "kaizen.gate.reason"
COMPARED_WITH = "kaizen.gate.compared_with"
# On the training run: the gate's note for the run list, and the version it registered.
NOTE = "kaizen.gate.note"
MODEL_VERSION = "kaizen.model_version"
# On a version, by the champion's owner when it takes over: the champion it replaced.
PREVIOUS_CHAMPION = "kaizen.previous_champion"
# On a version, by a roll-out: when it was verified; why it failed; where the automatic
# rollback took @champion back to (set once the alias is back).
VERIFIED = "kaizen.deploy.verified"
FAILED = "kaizen.deploy.failed"
ROLLED_BACK_TO = "kaizen.deploy.rolled_back_to"
# On a version, by an operator's deploy: redeploy, rollback or manual; who; why.
DEPLOY_KIND = "kaizen.deploy.kind"
DEPLOYED_BY = "kaizen.deploy.by"
DEPLOY_REASON = "kaizen.deploy.reason"
