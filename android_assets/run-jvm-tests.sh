#!/usr/bin/env bash
# Compiles the plain-Java harness core and its JUnit 4 tests with javac and runs them on the JVM.
#   android_assets/run-jvm-tests.sh
# Needs a JDK 17+ (javac, java) and JUnit 4 + Hamcrest (Debian/Ubuntu: apt-get install junit4);
# override the jars with JUNIT_JAR=... HAMCREST_JAR=... .
# Leaves the main classes in harness-core/build/classes (for ReplayMain) and the tests in
# harness-core/build/test-classes. Exit: 0 when every test passed; 3 when javac/java (17+) or the
# jars are missing; otherwise non-zero (a compile error, a failed test, or no tests ran).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CORE="$HERE/harness-core"
BUILD="$CORE/build"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"

missing() {
    echo "run-jvm-tests: $1" >&2
    exit 3
}

for tool in javac java; do
    command -v "$tool" >/dev/null 2>&1 || missing "$tool not found on PATH: install a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless)"
done
release="$(javac -version 2>&1 | sed -n 's/^javac \([0-9][0-9]*\).*/\1/p' | head -n 1)"
[ -n "$release" ] && [ "$release" -ge 17 ] || missing "javac 17+ needed for --release 17 (found: $(javac -version 2>&1 | head -n 1))"
[ -f "$JUNIT_JAR" ] || missing "JUnit 4 jar not found at $JUNIT_JAR: apt-get install junit4 (or set JUNIT_JAR)"
[ -f "$HAMCREST_JAR" ] || missing "Hamcrest jar not found at $HAMCREST_JAR: apt-get install junit4 (or set HAMCREST_JAR)"

rm -rf "$BUILD/classes" "$BUILD/test-classes"
mkdir -p "$BUILD/classes" "$BUILD/test-classes"

main_sources=()
while IFS= read -r -d '' f; do main_sources+=("$f"); done < <(find "$CORE/src/main/java" -name '*.java' -print0 | sort -z)
test_sources=()
while IFS= read -r -d '' f; do test_sources+=("$f"); done < <(find "$CORE/src/test/java" -name '*.java' -print0 | sort -z)
[ "${#main_sources[@]}" -gt 0 ] || { echo "run-jvm-tests: no sources under $CORE/src/main/java" >&2; exit 1; }
[ "${#test_sources[@]}" -gt 0 ] || { echo "run-jvm-tests: no tests under $CORE/src/test/java" >&2; exit 1; }

javac --release 17 -encoding UTF-8 -Xlint:all -d "$BUILD/classes" "${main_sources[@]}"
CP="$BUILD/classes:$JUNIT_JAR:$HAMCREST_JAR"
javac --release 17 -encoding UTF-8 -Xlint:all -cp "$CP" -d "$BUILD/test-classes" "${test_sources[@]}"

# Test classes: top-level *Test classes, as fully qualified names.
classes=()
while IFS= read -r -d '' f; do
    rel="${f#"$BUILD/test-classes/"}"
    rel="${rel%.class}"
    classes+=("${rel//\//.}")
done < <(find "$BUILD/test-classes" -name '*Test.class' ! -name '*$*' -print0 | sort -z)
[ "${#classes[@]}" -gt 0 ] || { echo "run-jvm-tests: no test classes compiled" >&2; exit 1; }

log="$BUILD/junit.log"
set +e
java -Dfile.encoding=UTF-8 -cp "$BUILD/test-classes:$CP" org.junit.runner.JUnitCore "${classes[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
    echo "run-jvm-tests: JUnit failed (exit $rc)" >&2
    exit "$rc"
fi
if ! grep -Eq '^OK \([1-9][0-9]* tests?\)' "$log"; then
    echo "run-jvm-tests: JUnit ran no tests" >&2
    exit 1
fi
echo "run-jvm-tests: main classes in $BUILD/classes (java -cp $BUILD/classes ai.mobilekit.qa.harness.ReplayMain FIXTURES_DIR OUT_DIR)"
