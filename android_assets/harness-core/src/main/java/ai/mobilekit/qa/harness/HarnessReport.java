package ai.mobilekit.qa.harness;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The on-device verdict of a harness run: per case, the comparison of each output with its golden
 * under the artifact's tolerance, plus any problem (model error, wrong output names or shapes).
 * It is a preview: {@code mobilekit qa ingest} on the written outputs is the verdict of record, and the
 * only one that judges task metrics and the all-cases comparison.
 */
public final class HarnessReport {
    /** One case: passed when it has no problems and every output comparison passed. */
    public static final class CaseResult {
        public final String caseId;
        public final List<Comparison> comparisons;
        public final List<String> problems;
        public final boolean passed;

        CaseResult(String caseId, List<Comparison> comparisons, List<String> problems) {
            this.caseId = caseId;
            this.comparisons = Collections.unmodifiableList(new ArrayList<Comparison>(comparisons));
            this.problems = Collections.unmodifiableList(new ArrayList<String>(problems));
            boolean ok = problems.isEmpty();
            for (Comparison c : comparisons) {
                ok &= c.passed;
            }
            this.passed = ok;
        }

        /** E.g. {@code ✓ case-000: mask max_abs 0, psnr exact} or {@code ✗ case-001: mask: max_abs 0.5 > 0.0001}. */
        public String line() {
            StringBuilder sb = new StringBuilder(passed ? "✓ " : "✗ ").append(caseId).append(": ");
            List<String> parts = new ArrayList<String>(problems);
            for (Comparison c : comparisons) {
                if (passed || !c.passed) {
                    parts.add(c.summary());
                }
            }
            for (int i = 0; i < parts.size(); i++) {
                sb.append(i > 0 ? "; " : "").append(parts.get(i));
            }
            return sb.toString();
        }
    }

    public final FixtureIndex.Artifact artifact;
    public final String runtime;
    public final String taskMetric;
    public final List<CaseResult> cases;

    HarnessReport(FixtureIndex.Artifact artifact, String runtime, String taskMetric, List<CaseResult> cases) {
        this.artifact = artifact;
        this.runtime = runtime;
        this.taskMetric = taskMetric;
        this.cases = Collections.unmodifiableList(new ArrayList<CaseResult>(cases));
    }

    public boolean passed() {
        return failedCases().isEmpty();
    }

    public List<String> failedCases() {
        List<String> failed = new ArrayList<String>();
        for (CaseResult c : cases) {
            if (!c.passed) {
                failed.add(c.caseId);
            }
        }
        return failed;
    }

    /** One line per case, then a summary naming the gate and what is left to {@code qa ingest}. */
    public List<String> lines() {
        List<String> lines = new ArrayList<String>();
        for (CaseResult c : cases) {
            lines.add(c.line());
        }
        int failed = failedCases().size();
        lines.add("on-device comparison " + (failed == 0 ? "passed" : "FAILED") + ": " + (cases.size() - failed) + "/" + cases.size()
                + " case(s) within " + artifact.tolerance.describe() + " (" + artifact.path + ", " + runtime + ")");
        lines.add((taskMetric != null ? "task metric " + taskMetric + " and the all-cases check are" : "the all-cases check is")
                + " judged by `mobilekit qa ingest --bundle B --outputs DIR`");
        return lines;
    }
}
