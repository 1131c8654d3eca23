#!/usr/bin/env bash
# A local Neo4j Community server from the jars on Maven Central: no Docker, no tarball.
#
#   neo4j-local.sh fetch                     copy the server's jars into the cache (idempotent);
#                                            prints the lib dir
#   neo4j-local.sh start <data-dir> <port>   run a server in the foreground (Ctrl-C / SIGTERM stops it)
#   neo4j-local.sh version                   print the Neo4j version used
#
# The jars are the dependencies of deploy/neo4j-local/pom.xml (org.neo4j:neo4j), copied by
# `mvn dependency:copy-dependencies` into ${DATAINFRA_NEO4J_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datainfra/neo4j-<version>}/lib.
# A marker file (.complete) makes later fetches a no-op.
#
# <data-dir> is the server's home: conf/neo4j.conf (rewritten on every start), data/, logs/,
# plugins/, import/, run/. Auth is on: user neo4j, password generated on first start into
# <data-dir>/password (mode 0600) and set with `neo4j-admin dbms set-initial-password`
# before the first start; later starts reuse it. Bolt listens on 127.0.0.1:<port> only;
# HTTP/HTTPS are off. Heap: NEO4J_LOCAL_HEAP (2g); page cache: NEO4J_LOCAL_PAGECACHE (512m);
# tracked memory of one transaction: NEO4J_LOCAL_TRANSACTION_MAX (1g).
#
# Keep NEO4J_VERSION, the settings and the JVM options in step with
# src/datainfra/local_stores/neo4j.py and neo4j_runtime.py (the Python side used by the tests and `make run`).
set -euo pipefail

NEO4J_VERSION="5.26.30"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$HERE/pom.xml"
CACHE_DIR="${DATAINFRA_NEO4J_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datainfra/neo4j-$NEO4J_VERSION}"
LIB_DIR="$CACHE_DIR/lib"
MARKER="$CACHE_DIR/.complete"

die() { echo "neo4j-local.sh: $*" >&2; exit 1; }

java_bin() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        echo "$JAVA_HOME/bin/java"
    else
        command -v java || die "no java on PATH (Neo4j $NEO4J_VERSION needs Java 17 or 21)"
    fi
}

fetch() {
    if [[ -f "$MARKER" && -d "$LIB_DIR" ]]; then
        echo "$LIB_DIR"
        return 0
    fi
    command -v mvn >/dev/null || die "no mvn on PATH (needed once to fetch the Neo4j jars)"
    mkdir -p "$CACHE_DIR"
    (
        flock 9
        if [[ -f "$MARKER" && -d "$LIB_DIR" ]]; then
            exit 0
        fi
        local partial="$CACHE_DIR/lib.partial.$$"
        rm -rf "$partial"
        mvn -q -B -Dstyle.color=never -f "$POM" -Dneo4j.version="$NEO4J_VERSION" \
            dependency:copy-dependencies -DoutputDirectory="$partial" >&2 \
            || { rm -rf "$partial"; die "mvn could not fetch org.neo4j:neo4j:$NEO4J_VERSION"; }
        [[ -f "$partial/neo4j-$NEO4J_VERSION.jar" ]] || die "mvn did not copy neo4j-$NEO4J_VERSION.jar"
        rm -rf "$LIB_DIR"
        mv "$partial" "$LIB_DIR"
        echo "org.neo4j:neo4j:$NEO4J_VERSION" > "$MARKER"
    ) 9>"$CACHE_DIR.lock"
    echo "$LIB_DIR"
}

start() {
    local data_dir="${1:-}" port="${2:-}"
    [[ -n "$data_dir" && -n "$port" ]] || die "usage: neo4j-local.sh start <data-dir> <port>"
    [[ "$port" =~ ^[0-9]+$ ]] || die "port must be a number: $port"
    fetch >/dev/null
    local java
    java="$(java_bin)"
    mkdir -p "$data_dir"
    data_dir="$(cd "$data_dir" && pwd)"
    mkdir -p "$data_dir"/{conf,data,logs,plugins,import,run}
    cat >"$data_dir/conf/neo4j.conf" <<EOF
# Written by deploy/neo4j-local/neo4j-local.sh on every start; edits are overwritten.
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.enabled=true
server.bolt.listen_address=127.0.0.1:$port
server.bolt.advertised_address=127.0.0.1:$port
server.http.enabled=false
server.https.enabled=false
dbms.security.auth_enabled=true
dbms.usage_report.enabled=false
server.memory.pagecache.size=${NEO4J_LOCAL_PAGECACHE:-512m}
server.directories.data=$data_dir/data
server.directories.logs=$data_dir/logs
server.directories.plugins=$data_dir/plugins
server.directories.import=$data_dir/import
server.directories.run=$data_dir/run
db.tx_log.preallocate=false
db.transaction.monitor.check.interval=100ms
db.memory.transaction.max=${NEO4J_LOCAL_TRANSACTION_MAX:-1g}
internal.server.bolt.connection_shutdown_wait_time=0s
internal.server.bolt.thread_pool_shutdown_wait_time=0s
EOF
    local cp="$LIB_DIR/*"
    if [[ ! -d "$data_dir/data/databases/system" ]]; then
        if [[ ! -s "$data_dir/password" ]]; then
            (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$data_dir/password")
        fi
        NEO4J_HOME="$data_dir" NEO4J_CONF="$data_dir/conf" \
            "$java" -cp "$cp" org.neo4j.cli.AdminTool dbms set-initial-password -- "$(cat "$data_dir/password")" >&2
    fi
    [[ -s "$data_dir/password" ]] || die "$data_dir/password is missing: the database there was not made by this script"
    local heap="${NEO4J_LOCAL_HEAP:-2g}"
    echo "neo4j-local.sh: Neo4j $NEO4J_VERSION on bolt://127.0.0.1:$port (user neo4j, password in $data_dir/password)" >&2
    cd "$data_dir"
    exec "$java" "-Xms$heap" "-Xmx$heap" \
        -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+UnlockExperimentalVMOptions \
        -XX:+TrustFinalNonStaticFields -XX:+DisableExplicitGC -Djdk.nio.maxCachedBufferSize=1024 \
        -Dio.netty.tryReflectionSetAccessible=true -Dlog4j2.disable.jmx=true -Dfile.encoding=UTF-8 \
        --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED \
        -cp "$cp" org.neo4j.server.CommunityEntryPoint \
        --home-dir="$data_dir" --config-dir="$data_dir/conf" --console-mode
}

case "${1:-}" in
    fetch) fetch ;;
    start) shift; start "$@" ;;
    version) echo "$NEO4J_VERSION" ;;
    *) die "usage: neo4j-local.sh fetch | start <data-dir> <port> | version" ;;
esac
