# Stand-in for prom/statsd-exporter (Debian bookworm does not package it): statsd_standin.py
# takes its listen flags, accepts StatsD over UDP and serves /metrics with sample counts only.
# It does not apply the mapping file, so the compose test does not cover statsd-mapping.yml.
ARG BASE_IMAGE=localhost/kaizen-standin/python:3.11
FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends wget && rm -rf /var/lib/apt/lists/*
COPY statsd_standin.py /usr/local/bin/statsd_standin.py
USER nobody
EXPOSE 9102 9125/udp
ENTRYPOINT ["python", "/usr/local/bin/statsd_standin.py"]
