package ai.mobilekit.qa.harness;

import java.io.File;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A bundle's {@code fixtures/index.json} (format {@value #FORMAT} version {@value #FORMAT_VERSION}),
 * parsed and checked: inputs, outputs, cases with their tensor files, and the tolerance of each bundled
 * artifact. Every problem is a {@link FixtureException} naming the index file and the offending field.
 * See docs/device-qa.md and mobilekit/qa/fixture_format.py for the format.
 */
public final class FixtureIndex {
    public static final String FORMAT = "mobilekit-device-fixtures";
    public static final int FORMAT_VERSION = 1;
    public static final String INDEX_NAME = "index.json";
    public static final String ROLE_INPUT = "input";
    public static final String ROLE_EXPECTED = "expected";
    /** Tensor names and case ids are used as file names: letters, digits, {@code _ . -} only. */
    static final Pattern SAFE_NAME = Pattern.compile("^[A-Za-z0-9_][A-Za-z0-9_.-]*$");
    private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");
    private static final Charset UTF8 = Charset.forName("UTF-8");

    /** A model input or output as the index declares it. */
    public static final class TensorSpec {
        public final String name;
        public final String kind; // "image" or "tensor" for inputs; "tensor" for outputs
        private final int[] shape;

        TensorSpec(String name, String kind, int[] shape) {
            this.name = name;
            this.kind = kind;
            this.shape = shape;
        }

        public int[] shape() {
            return shape.clone();
        }
    }

    /** One fixture file of a case: a golden input or a reference ("expected") output. */
    public static final class TensorFile {
        public final String name;
        public final String role;
        public final String file; // relative to the fixtures directory
        public final long bytes;
        public final String sha256;
        private final int[] shape;

        TensorFile(String name, String role, int[] shape, String file, long bytes, String sha256) {
            this.name = name;
            this.role = role;
            this.shape = shape;
            this.file = file;
            this.bytes = bytes;
            this.sha256 = sha256;
        }

        public int[] shape() {
            return shape.clone();
        }
    }

    /** One fixture case: its id ({@code case-000}) and tensors in index order. */
    public static final class Case {
        public final String id;
        public final List<TensorFile> tensors;

        Case(String id, List<TensorFile> tensors) {
            this.id = id;
            this.tensors = Collections.unmodifiableList(tensors);
        }

        public List<TensorFile> withRole(String role) {
            List<TensorFile> out = new ArrayList<TensorFile>();
            for (TensorFile t : tensors) {
                if (t.role.equals(role)) {
                    out.add(t);
                }
            }
            return out;
        }

        /** The tensor of this name and role, or null. */
        public TensorFile tensor(String name, String role) {
            for (TensorFile t : tensors) {
                if (t.name.equals(name) && t.role.equals(role)) {
                    return t;
                }
            }
            return null;
        }
    }

    /** A bundled artifact and the tolerance its build-time parity gate used. */
    public static final class Artifact {
        public final String path;
        public final String target;
        public final String precision;
        public final Tolerance tolerance;

        Artifact(String path, String target, String precision, Tolerance tolerance) {
            this.path = path;
            this.target = target;
            this.precision = precision;
            this.tolerance = tolerance;
        }

        /** The artifact's file name ({@code models/x.tflite} → {@code x.tflite}). */
        public String fileName() {
            return path.substring(path.lastIndexOf('/') + 1);
        }
    }

    public final String source;
    public final File dir;
    public final String bundleName;
    public final String taskMetric;
    public final List<TensorSpec> inputs;
    public final List<TensorSpec> outputs;
    public final List<Case> cases;
    public final Map<String, Artifact> artifacts;

    private FixtureIndex(String source, File dir, String bundleName, String taskMetric, List<TensorSpec> inputs,
                         List<TensorSpec> outputs, List<Case> cases, Map<String, Artifact> artifacts) {
        this.source = source;
        this.dir = dir;
        this.bundleName = bundleName;
        this.taskMetric = taskMetric;
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
        this.cases = Collections.unmodifiableList(cases);
        this.artifacts = Collections.unmodifiableMap(artifacts);
    }

    /** Reads {@code fixturesDir/index.json}; tensor files are resolved against {@code fixturesDir}. */
    public static FixtureIndex load(File fixturesDir) throws FixtureException {
        File file = new File(fixturesDir, INDEX_NAME);
        if (!file.isFile()) {
            throw new FixtureException(file + ": not found (expected the fixtures/ directory of an unzipped bundle with fixtures;"
                    + " add them with `mobilekit qa fixtures --bundle B`)");
        }
        byte[] data;
        try {
            data = IoUtil.readBytes(file);
        } catch (IOException e) {
            throw new FixtureException(file + ": unreadable (" + e.getMessage() + ")", e);
        }
        return parse(new String(data, UTF8), file.getPath(), fixturesDir);
    }

    /** Parses index text; {@code source} names it in errors, {@code dir} is the fixtures directory (may be null). */
    public static FixtureIndex parse(String text, String source, File dir) throws FixtureException {
        Object root;
        try {
            root = Json.parse(text);
        } catch (Json.ParseException e) {
            throw new FixtureException(source + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        JsonFields top = new JsonFields(source, "", object(source, "the document", root));
        Object format = top.map.get("format");
        Object version = top.map.get("format_version");
        if (!FORMAT.equals(format) || !(version instanceof Number) || ((Number) version).doubleValue() != FORMAT_VERSION) {
            throw new FixtureException(source + ": not " + FORMAT + " version " + FORMAT_VERSION + " (format "
                    + show(format) + ", format_version " + show(version) + ")");
        }
        top.optionalConstant("dtype", "float32");
        top.optionalConstant("byte_order", "little");
        String bundleName = null;
        if (top.map.get("bundle") instanceof Map) {
            Object name = ((Map<?, ?>) top.map.get("bundle")).get("name");
            bundleName = name instanceof String ? (String) name : null;
        }
        Object task = top.map.get("task_metric");
        if (task != null && !(task instanceof String)) {
            throw top.error("task_metric", "must be a string or null");
        }

        List<TensorSpec> inputs = specs(top, "inputs", true);
        List<TensorSpec> outputs = specs(top, "outputs", false);
        Map<String, Artifact> artifacts = artifacts(top);

        List<Object> rawCases = top.list("cases");
        if (rawCases.isEmpty()) {
            throw top.error("cases", "no cases");
        }
        List<Case> cases = new ArrayList<Case>();
        Set<String> ids = new HashSet<String>();
        for (int i = 0; i < rawCases.size(); i++) {
            String where = "cases[" + i + "]";
            JsonFields c = new JsonFields(source, where + ".", object(source, where, rawCases.get(i)));
            String id = c.safeName("id");
            if (!ids.add(id)) {
                throw c.error("id", "duplicate case id \"" + id + "\"");
            }
            cases.add(new Case(id, caseTensors(c, inputs, outputs)));
        }
        return new FixtureIndex(source, dir, bundleName, (String) task, inputs, outputs, cases, artifacts);
    }

    /** The fixture file of a tensor (relative paths resolve against the fixtures directory). */
    public File file(TensorFile tensor) {
        return new File(dir, tensor.file.replace('/', File.separatorChar));
    }

    /** The case with this id, or null. */
    public Case findCase(String id) {
        for (Case c : cases) {
            if (c.id.equals(id)) {
                return c;
            }
        }
        return null;
    }

    /** The output spec of this name, or null. */
    public TensorSpec output(String name) {
        for (TensorSpec s : outputs) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** The bundled {@code .tflite} artifact (the one the Android harness runs); an error unless exactly one. */
    public Artifact tfliteArtifact() throws FixtureException {
        List<Artifact> found = new ArrayList<Artifact>();
        for (Artifact a : artifacts.values()) {
            if (a.path.toLowerCase(Locale.ROOT).endsWith(".tflite")) {
                found.add(a);
            }
        }
        if (found.size() == 1) {
            return found.get(0);
        }
        if (found.isEmpty()) {
            throw new FixtureException(source + ": tolerances list no .tflite artifact (have: " + artifacts.keySet() + ")");
        }
        List<String> paths = new ArrayList<String>();
        for (Artifact a : found) {
            paths.add(a.path);
        }
        throw new FixtureException(source + ": tolerances list " + found.size() + " .tflite artifacts; say which one runs: " + paths);
    }

    /**
     * The artifact named by {@code requested}: its path, its file name or its target (as {@code qa ingest}
     * accepts); {@link #tfliteArtifact()} when {@code requested} is null.
     */
    public Artifact artifact(String requested) throws FixtureException {
        if (requested == null) {
            return tfliteArtifact();
        }
        if (artifacts.containsKey(requested)) {
            return artifacts.get(requested);
        }
        List<Artifact> matches = new ArrayList<Artifact>();
        for (Artifact a : artifacts.values()) {
            if (requested.equals(a.target) || requested.equals(a.fileName())) {
                matches.add(a);
            }
        }
        if (matches.size() == 1) {
            return matches.get(0);
        }
        throw new FixtureException(source + ": artifact \"" + requested + "\" is " + (matches.isEmpty() ? "not listed" : "ambiguous")
                + " in tolerances; accepted: " + artifacts.keySet());
    }

    // --- parsing helpers ---------------------------------------------------------------------

    private static List<TensorSpec> specs(JsonFields top, String key, boolean withKind) throws FixtureException {
        List<Object> raw = top.list(key);
        if (raw.isEmpty()) {
            throw top.error(key, "must list at least one tensor");
        }
        List<TensorSpec> out = new ArrayList<TensorSpec>();
        Set<String> names = new HashSet<String>();
        for (int i = 0; i < raw.size(); i++) {
            String where = key + "[" + i + "]";
            JsonFields f = new JsonFields(top.source, where + ".", object(top.source, where, raw.get(i)));
            String name = f.safeName("name");
            if (!names.add(name)) {
                throw f.error("name", "duplicate " + key + " name \"" + name + "\"");
            }
            String kind = "tensor";
            if (withKind && f.map.containsKey("kind")) {
                kind = f.string("kind");
                if (!kind.equals("image") && !kind.equals("tensor")) {
                    throw f.error("kind", "must be \"image\" or \"tensor\", not \"" + kind + "\"");
                }
            }
            out.add(new TensorSpec(name, kind, f.shape("shape")));
        }
        return out;
    }

    private static Map<String, Artifact> artifacts(JsonFields top) throws FixtureException {
        Map<String, Artifact> out = new LinkedHashMap<String, Artifact>();
        for (Map.Entry<String, Object> e : top.object("tolerances").entrySet()) {
            String where = "tolerances[\"" + e.getKey() + "\"]";
            JsonFields f = new JsonFields(top.source, where + ".", object(top.source, where, e.getValue()));
            Map<String, Object> raw = f.map.get("tolerance") == null ? new LinkedHashMap<String, Object>() : f.object("tolerance");
            Tolerance tol = tolerance(new JsonFields(top.source, where + ".tolerance.", raw));
            out.put(e.getKey(), new Artifact(e.getKey(), f.optionalString("target"), f.optionalString("precision"), tol));
        }
        return out;
    }

    private static Tolerance tolerance(JsonFields f) throws FixtureException {
        Map<String, Tolerance> perOutput = null;
        if (f.map.get("outputs") != null) {
            perOutput = new LinkedHashMap<String, Tolerance>();
            for (Map.Entry<String, Object> e : f.object("outputs").entrySet()) {
                String where = f.prefix + "outputs[\"" + e.getKey() + "\"]";
                perOutput.put(e.getKey(), tolerance(new JsonFields(f.source, where + ".", object(f.source, where, e.getValue()))));
            }
        }
        return new Tolerance(f.optionalNumber("max_abs"), f.optionalNumber("mean_abs"), f.optionalNumber("min_psnr"),
                f.optionalNumber("min_task_metric"), f.optionalNumber("max_task_metric"), perOutput);
    }

    private static List<TensorFile> caseTensors(JsonFields c, List<TensorSpec> inputs, List<TensorSpec> outputs) throws FixtureException {
        List<Object> raw = c.list("tensors");
        List<TensorFile> tensors = new ArrayList<TensorFile>();
        Set<String> seen = new HashSet<String>();
        for (int j = 0; j < raw.size(); j++) {
            String where = c.prefix + "tensors[" + j + "]";
            JsonFields t = new JsonFields(c.source, where + ".", object(c.source, where, raw.get(j)));
            String name = t.safeName("name");
            String role = t.string("role");
            if (!role.equals(ROLE_INPUT) && !role.equals(ROLE_EXPECTED)) {
                throw t.error("role", "must be \"input\" or \"expected\", not \"" + role + "\"");
            }
            if (!seen.add(role + "/" + name)) {
                throw t.error("name", "duplicate " + role + " tensor \"" + name + "\"");
            }
            t.optionalConstant("dtype", "float32");
            t.optionalConstant("byte_order", "little");
            int[] shape = t.shape("shape");
            String file = t.relativePath("file");
            long bytes = t.integer("bytes");
            long want = Float32Tensor.byteCount(shape);
            if (bytes != want) {
                throw t.error("bytes", bytes + " does not match shape " + Float32Tensor.describeShape(shape) + " (" + want + " bytes of float32)");
            }
            String sha = t.string("sha256");
            if (!SHA256.matcher(sha).matches()) {
                throw t.error("sha256", "must be 64 lowercase hex digits");
            }
            TensorSpec spec = findSpec(role.equals(ROLE_INPUT) ? inputs : outputs, name);
            if (spec == null) {
                throw t.error("name", role + " tensor \"" + name + "\" is not among the index's " + (role.equals(ROLE_INPUT) ? "inputs" : "outputs"));
            }
            if (!Arrays.equals(spec.shape, shape)) {
                throw t.error("shape", Float32Tensor.describeShape(shape) + " differs from the declared " + Float32Tensor.describeShape(spec.shape));
            }
            tensors.add(new TensorFile(name, role, shape, file, bytes, sha));
        }
        for (TensorSpec s : inputs) {
            if (!seen.contains(ROLE_INPUT + "/" + s.name)) {
                throw new FixtureException(c.source + ": " + c.prefix + "tensors: no input tensor \"" + s.name + "\"");
            }
        }
        for (TensorSpec s : outputs) {
            if (!seen.contains(ROLE_EXPECTED + "/" + s.name)) {
                throw new FixtureException(c.source + ": " + c.prefix + "tensors: no expected tensor \"" + s.name + "\"");
            }
        }
        return tensors;
    }

    private static TensorSpec findSpec(List<TensorSpec> specs, String name) {
        for (TensorSpec s : specs) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(String source, String where, Object value) throws FixtureException {
        if (!(value instanceof Map)) {
            throw new FixtureException(source + ": " + where + " must be a JSON object");
        }
        return (Map<String, Object>) value;
    }

    static String show(Object value) {
        if (value instanceof String) {
            StringBuilder sb = new StringBuilder();
            Json.quote((String) value, sb);
            return sb.toString();
        }
        return value == null ? "missing" : value.toString();
    }
}
