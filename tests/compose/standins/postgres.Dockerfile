# Stand-in for postgres:15-bookworm, from Debian's postgresql-15. It emulates the official
# image's entrypoint (POSTGRES_PASSWORD, PGDATA, /docker-entrypoint-initdb.d scripts run once
# against a socket-only server), not its locale, extension or POSTGRES_INITDB_ARGS handling.
ARG BASE_IMAGE=localhost/kaizen-standin/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/lib/postgresql/15 \
    && install -d -o postgres -g postgres -m 2775 /var/run/postgresql /docker-entrypoint-initdb.d
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
