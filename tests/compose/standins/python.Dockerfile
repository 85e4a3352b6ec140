# Stand-in for python:3.11-slim-bookworm, from Debian's python3 (3.11): a virtual environment
# on PATH plays the official image's /usr/local Python, so `python` and `pip install` work as root.
ARG BASE_IMAGE=localhost/kaizen-standin/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /usr/local/python
ENV PATH=/usr/local/python/bin:$PATH \
    LANG=C.UTF-8
CMD ["python3"]
