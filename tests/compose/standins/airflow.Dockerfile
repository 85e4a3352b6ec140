# Stand-in for apache/airflow:3.3.2-python3.11: the `airflow` user (uid 50000, gid 0), AIRFLOW_HOME
# /opt/airflow, apache-airflow at the orchestration lock's versions, curl and dumb-init. Its
# entrypoint emulates the official one's command dispatch only (no database wait, no
# _AIRFLOW_DB_MIGRATE): Kaizen's own commands must wait for what they need.
ARG BASE_IMAGE=localhost/kaizen-standin/python:3.11
FROM ${BASE_IMAGE}
ARG AIRFLOW_VERSION=3.3.2
RUN apt-get update -q && apt-get install -y -q --no-install-recommends curl dumb-init \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 50000 --gid 0 --create-home --home-dir /home/airflow airflow \
    && install -d -o airflow -g 0 -m 0775 /opt/airflow /opt/airflow/dags /opt/airflow/logs \
    && chown -R airflow:0 /usr/local/python
COPY airflow-constraints.txt /tmp/constraints.txt
COPY --chmod=0755 airflow-entrypoint.sh /entrypoint
USER airflow
RUN pip install --no-cache-dir -q "apache-airflow==${AIRFLOW_VERSION}" -c /tmp/constraints.txt
ENV AIRFLOW_HOME=/opt/airflow
WORKDIR /opt/airflow
EXPOSE 8080
ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"]
CMD []
