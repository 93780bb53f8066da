FROM busybox
WORKDIR /w
RUN echo before-failure && exit 3
