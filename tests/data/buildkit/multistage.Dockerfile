FROM busybox AS base
ARG GREETING=hello
ENV APP=demo
WORKDIR /app
RUN echo "$GREETING from base" && echo to-stderr >&2

FROM busybox AS unused
RUN echo never

FROM base AS builder
COPY input.txt /app/
RUN cat /app/input.txt > /app/out && echo built

FROM busybox
COPY --from=builder /app/out /out
LABEL demo=1
CMD ["cat", "/out"]
