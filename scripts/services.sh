#!/usr/bin/env bash
# Make sure the local services the tests need are up: PostgreSQL, Redis and RabbitMQ,
# and that promtool (Debian package
# prometheus; the tests lint /metrics with it) and chromium (the /docs page test renders
# with it) are installed. Idempotent: a service that
# already answers, or a tool already installed, is left alone, so on a healthy machine
# this is a quick no-op.
#
#   scripts/services.sh                    # all of them
#   scripts/services.sh postgres redis     # only some (postgres, redis, rabbitmq, promtool,
#                                          # chromium)
#
# Environment: SERVICES_TIMEOUT (seconds to wait for each service, default 60; RabbitMQ
# gets three times as long: a broker holding many durable queues loads them all at boot).
# A service that does not answer in time fails the script with a message naming it.
# (NATS, Mosquitto and MariaDB also run on these machines; commerce does not use them.)
set -euo pipefail

TIMEOUT="${SERVICES_TIMEOUT:-60}"

log() { printf 'services: %s\n' "$*"; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

tcp_open() {  # tcp_open HOST PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_until NAME CHECK...: run CHECK once a second until it succeeds or TIMEOUT passes.
wait_until() {
    local name=$1; shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            die "$name did not answer within ${TIMEOUT}s"
        fi
        sleep 1
    done
}

# ensure NAME CHECK_FN START_FN: start NAME with START_FN unless CHECK_FN succeeds.
ensure() {
    local name=$1 check=$2 start=$3 started=$SECONDS
    if "$check"; then
        log "$name is up"
        return 0
    fi
    log "$name is down; starting it"
    # A start command may fail because the server is already starting; the wait decides.
    if ! "$start"; then
        log "$name: start command failed (the server may be starting already); waiting"
    fi
    local timeout=$TIMEOUT
    [[ $name == RabbitMQ ]] && timeout=$((TIMEOUT * 3))
    TIMEOUT=$timeout wait_until "$name" "$check"
    log "$name is up (started in $((SECONDS - started))s)"
}

# ------------------------------------------------------------------ PostgreSQL
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2; }
postgres_start() {
    command -v pg_ctlcluster > /dev/null || die "PostgreSQL: pg_ctlcluster not found (is postgresql installed?)"
    # shellcheck disable=SC2046  # one cluster version directory, as on these machines
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}

# ------------------------------------------------------------------ Redis
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2> /dev/null)" == "PONG" ]]; }
redis_start() {
    command -v redis-server > /dev/null || die "Redis: redis-server not found (is redis-server installed?)"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

# ------------------------------------------------------------------ RabbitMQ
rabbitmq_up() { tcp_open 127.0.0.1 5672; }
rabbitmq_start() {
    command -v rabbitmq-server > /dev/null || die "RabbitMQ: rabbitmq-server not found (is rabbitmq-server installed?)"
    rabbitmq-server -detached
}

# cannot_install TOOL COMMAND: a missing test tool that only root can install. Under CI
# (CI true-ish) that is an error: the tests would fail without it. Elsewhere the tests
# skip, so say how to install it and go on.
cannot_install() {
    local ci=${CI:-}
    case "${ci,,}" in
        "" | 0 | false | no | off)
            log "$1 is missing; install it with: $2"
            ;;
        *) die "$1 is missing and only root can install it (CI=$CI): run $2, or run this script as root" ;;
    esac
}

# ------------------------------------------------------------------ promtool (a test tool)
# Installed only when missing; needs root (as in CI), else it says how and goes on
# (outside CI; under CI it fails).
promtool_install() {
    if command -v promtool > /dev/null; then
        log "promtool is installed"
        return 0
    fi
    if ((EUID != 0)); then
        cannot_install promtool "sudo apt-get install --no-install-recommends prometheus"
        return 0
    fi
    log "promtool is missing; installing Debian's prometheus package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq > /dev/null \
        || die "promtool: apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
        > /dev/null || die "promtool: apt-get install prometheus failed"
    command -v promtool > /dev/null || die "promtool: not found after installing prometheus"
    log "promtool installed: $(promtool --version 2>&1 | head -n 1)"
}

# ------------------------------------------------------------------ Chromium (a test tool)
# Headless Chromium renders the /docs page in tests/contract/test_docs_page_in_a_browser.py.
# Installed only when /usr/bin/chromium is missing; needs root (as in CI), else it says how
# and goes on (outside CI; under CI it fails).
chromium_install() {
    if [[ -n ${COMMERCE_TEST_CHROMIUM:-} ]]; then
        log "chromium: the tests use COMMERCE_TEST_CHROMIUM=$COMMERCE_TEST_CHROMIUM"
        return 0
    fi
    if [[ -x /usr/bin/chromium ]]; then
        log "chromium is installed"
        return 0
    fi
    if ((EUID != 0)); then
        cannot_install chromium "sudo apt-get install chromium"
        return 0
    fi
    log "chromium is missing; installing Debian's chromium package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq > /dev/null \
        || die "chromium: apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null \
        || die "chromium: apt-get install chromium failed"
    [[ -x /usr/bin/chromium ]] || die "chromium: /usr/bin/chromium not found after installing"
    log "chromium installed: $(/usr/bin/chromium --version 2> /dev/null | head -n 1)"
}

main() {
    local services=("$@")
    ((${#services[@]})) || services=(postgres redis rabbitmq promtool chromium)
    local service
    for service in "${services[@]}"; do
        case $service in
            postgres | postgresql) ensure PostgreSQL postgres_up postgres_start ;;
            redis) ensure Redis redis_up redis_start ;;
            rabbitmq) ensure RabbitMQ rabbitmq_up rabbitmq_start ;;
            promtool) promtool_install ;;
            chromium) chromium_install ;;
            *) die "unknown service '$service' (known: postgres, redis, rabbitmq, promtool, chromium)" ;;
        esac
    done
}

main "$@"
