#!/usr/bin/env bash
# A second, independent Docker daemon on this machine: a real second host for the tests
# of several hosts. It has its own data root, exec root (and so its own containerd),
# socket and pid file, no bridge and no iptables rules, and stores layers with
# fuse-overlayfs. It also listens on loopback with TLS (dockerd's own, client certificates
# required; a CA, a server certificate for 127.0.0.1 and a client certificate are made
# here), and a socat proxy exposes its socket on loopback as plain TCP. An sshd of its own
# on loopback logs in with a key made here and runs `docker system dial-stdio` against this
# daemon (SetEnv DOCKER_HOST in its sshd_config), so the daemon is reachable over SSH too.
#
#   scripts/second-host.sh start   start it (or find it running); print its addresses
#   scripts/second-host.sh env     print its addresses (as KEY=VALUE lines)
#   scripts/second-host.sh stop    stop it and remove everything it made
#
# The addresses are read by the integration tests from these variables:
#   DB_SECOND_HOST_UNIX   unix:///.../docker.sock
#   DB_SECOND_HOST_TCP    tcp://127.0.0.1:PORT
#   DB_SECOND_HOST_TLS    tcp://127.0.0.1:PORT (TLS)
#   DB_SECOND_HOST_CERTS  the client's key.pem, cert.pem and ca.pem (for DOCKER_CERT_PATH)
#   DB_SECOND_HOST_SSH    ssh://USER@second-host: an alias of the ssh configuration below
#   DB_SECOND_HOST_SSH_PATH  a folder holding an `ssh` that reads that configuration
#                         (ssh -F); put first in PATH, it leaves the user's ~/.ssh alone
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"   # dockerd and sshd, for users whose PATH lacks them

base=${DB_SECOND_HOST_DIR:-/tmp/distributed-benchmark-second-host}
port=${DB_SECOND_HOST_PORT:-23750}
tls_port=${DB_SECOND_HOST_TLS_PORT:-23760}
ssh_port=${DB_SECOND_HOST_SSH_PORT:-23770}
sock="$base/docker.sock"

say_env() {
  echo "DB_SECOND_HOST_UNIX=unix://$sock"
  echo "DB_SECOND_HOST_TCP=tcp://127.0.0.1:$port"
  echo "DB_SECOND_HOST_TLS=tcp://127.0.0.1:$tls_port"
  echo "DB_SECOND_HOST_CERTS=$base/certs/client"
  echo "DB_SECOND_HOST_SSH=ssh://$(id -un)@second-host"
  echo "DB_SECOND_HOST_SSH_PATH=$base/ssh/bin"
}

answers() {
  docker -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

make_certs() {
  local d="$base/certs"
  mkdir -p "$d/client"
  openssl genrsa -out "$d/ca-key.pem" 2048 2>/dev/null
  openssl req -x509 -new -key "$d/ca-key.pem" -days 2 -subj "/CN=second-host test CA" \
    -out "$d/ca.pem" 2>/dev/null
  openssl genrsa -out "$d/server-key.pem" 2048 2>/dev/null
  openssl req -new -key "$d/server-key.pem" -subj "/CN=127.0.0.1" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  openssl genrsa -out "$d/client/key.pem" 2048 2>/dev/null
  openssl req -new -key "$d/client/key.pem" -subj "/CN=client" -out "$d/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$d/client.ext" -out "$d/client/cert.pem" 2>/dev/null
  cp "$d/ca.pem" "$d/client/ca.pem"
}

# An sshd on 127.0.0.1:$ssh_port whose sessions talk to this daemon, a key to log in with,
# and an ssh client configuration that calls it `second-host`.
start_sshd() {
  local d="$base/ssh"
  rm -rf "$d"
  mkdir -p "$d/bin" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -C second-host -f "$d/host_key"
  ssh-keygen -q -t ed25519 -N '' -C second-host-client -f "$d/client_key"
  cp "$d/client_key.pub" "$d/authorized_keys"
  printf '%s\n' \
    "ListenAddress 127.0.0.1:$ssh_port" \
    "HostKey $d/host_key" \
    "PidFile $d/sshd.pid" \
    "AuthorizedKeysFile $d/authorized_keys" \
    "PermitRootLogin prohibit-password" \
    "PasswordAuthentication no" \
    "KbdInteractiveAuthentication no" \
    "UsePAM no" \
    "StrictModes no" \
    "SetEnv DOCKER_HOST=unix://$sock" > "$d/sshd_config"
  printf '%s\n' \
    "Host second-host" \
    "  HostName 127.0.0.1" \
    "  Port $ssh_port" \
    "  IdentityFile $d/client_key" \
    "  IdentitiesOnly yes" \
    "  UserKnownHostsFile $d/known_hosts" \
    "  StrictHostKeyChecking accept-new" \
    "  BatchMode yes" > "$d/config"
  printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$(command -v ssh)" "$d/config" > "$d/bin/ssh"
  chmod +x "$d/bin/ssh"
  "$(command -v sshd)" -f "$d/sshd_config" -E "$d/sshd.log"
  for _ in $(seq 1 20); do
    "$d/bin/ssh" second-host docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && return
    sleep 0.25
  done
  echo "second-host: sshd does not answer on 127.0.0.1:$ssh_port; its log:" >&2
  tail -20 "$d/sshd.log" >&2
  exit 1
}

start() {
  if answers; then
    # Started by an earlier version of this script, without its sshd: add it.
    [ -f "$base/ssh/sshd.pid" ] && kill -0 "$(cat "$base/ssh/sshd.pid")" 2>/dev/null || start_sshd
    say_env
    return
  fi
  for tool in dockerd socat openssl fuse-overlayfs sshd ssh ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "second-host: $tool is needed (on Debian: apt-get install socat openssl fuse-overlayfs openssh-server; dockerd comes with Docker)" >&2; exit 1; }
  done
  mkdir -p "$base/data" "$base/exec"
  echo '{"storage-driver": "fuse-overlayfs"}' > "$base/daemon.json"
  make_certs
  local d="$base/certs"
  nohup dockerd --config-file "$base/daemon.json" --data-root "$base/data" \
    --exec-root "$base/exec" -H "unix://$sock" -H "tcp://127.0.0.1:$tls_port" \
    --tlsverify --tlscacert "$d/ca.pem" --tlscert "$d/server.pem" --tlskey "$d/server-key.pem" \
    --pidfile "$base/docker.pid" \
    --bridge none --iptables=false --ip-masq=false >"$base/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
  if ! answers; then
    echo "second-host: dockerd did not answer on $sock; its log:" >&2
    tail -20 "$base/dockerd.log" >&2
    exit 1
  fi
  nohup socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$sock" \
    >"$base/socat-tcp.log" 2>&1 &
  echo $! > "$base/socat-tcp.pid"
  for _ in $(seq 1 20); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  start_sshd
  say_env
}

stop() {
  for pidfile in "$base/socat-tcp.pid" "$base/ssh/sshd.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  if [ -f "$base/docker.pid" ]; then
    local pid
    pid=$(cat "$base/docker.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Layers stored by fuse-overlayfs may still be mounted below the data root.
  grep " $base/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null || true
  done
  rm -rf "$base"
}

case "${1:-}" in
  start) start ;;
  env) say_env ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
