# The stand-ins' common base: Debian bookworm (minbase, imported from debootstrap by build.sh),
# trusting the build host's CA bundle so that apt and pip work behind a TLS-intercepting proxy,
# as a company's own base images would trust its proxy.
ARG BASE_IMAGE=localhost/kaizen-standin/debootstrap:bookworm
FROM ${BASE_IMAGE}
COPY host-ca.crt /usr/local/share/ca-certificates/build-host.crt
RUN apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates \
    && update-ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DEFAULT_TIMEOUT=60 \
    PIP_RETRIES=10 \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
