# Stand-in for redis:7.2-bookworm, from Debian's redis-server (7.0): the `redis` user is uid 999
# and /data the working directory, as in the official image; no entrypoint emulation needed.
ARG BASE_IMAGE=localhost/kaizen-standin/debian:bookworm
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 999 redis && useradd --system --uid 999 --gid 999 --home-dir /data redis \
    && apt-get update -q && apt-get install -y -q --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/* && install -d -o redis -g redis /data
WORKDIR /data
VOLUME /data
EXPOSE 6379
CMD ["redis-server"]
