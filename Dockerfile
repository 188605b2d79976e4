# The worker image: one static executable and nothing else (no registry is needed to
# build it). distributed-benchmark builds this through the Engine API from an in-memory
# context holding this file and its own executable; the text is embedded in the binary.
FROM scratch
COPY distributed-benchmark /distributed-benchmark
LABEL org.opencontainers.image.title="distributed-benchmark worker" \
      distributed-benchmark.image="1"
USER 65534:65534
ENTRYPOINT ["/distributed-benchmark"]
CMD ["worker", "--help"]
