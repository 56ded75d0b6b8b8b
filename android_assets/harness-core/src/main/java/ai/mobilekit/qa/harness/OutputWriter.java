package ai.mobilekit.qa.harness;

import java.io.File;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a device run in the layout {@code mobilekit qa ingest --outputs DIR} reads:
 * {@code DIR/<case>/<output>.bin} (raw float32 little-endian) and {@code DIR/device.json}.
 */
public final class OutputWriter {
    public static final String DEVICE_JSON = "device.json";

    /** What ran where, for {@code device.json}; null fields are left out. All values are strings. */
    public static final class DeviceInfo {
        public final String device;
        public final String os;
        public final String runtime;
        public final String artifact;
        public final String computeUnits;

        public DeviceInfo(String device, String os, String runtime, String artifact, String computeUnits) {
            this.device = device;
            this.os = os;
            this.runtime = runtime;
            this.artifact = artifact;
            this.computeUnits = computeUnits;
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<String, Object>();
            put(m, "device", device);
            put(m, "os", os);
            put(m, "runtime", runtime);
            put(m, "artifact", artifact);
            put(m, "compute_units", computeUnits);
            return m;
        }

        private static void put(Map<String, Object> m, String key, String value) {
            if (value != null) {
                m.put(key, value);
            }
        }
    }

    private final File outDir;

    public OutputWriter(File outDir) {
        this.outDir = outDir;
    }

    public File outDir() {
        return outDir;
    }

    /** {@code outDir/<caseId>/<output>.bin}. */
    public File outputFile(String caseId, String output) {
        return new File(new File(outDir, checkName(caseId)), checkName(output) + ".bin");
    }

    /** Writes one case's output; returns the file. */
    public File write(String caseId, String output, Float32Tensor tensor) throws IOException {
        File file = outputFile(caseId, output);
        tensor.write(file);
        return file;
    }

    /** Writes {@code outDir/device.json}; returns the file. */
    public File writeDeviceInfo(DeviceInfo info) throws IOException {
        File file = new File(outDir, DEVICE_JSON);
        IoUtil.writeBytes(file, (Json.write(info.toMap()) + "\n").getBytes(Charset.forName("UTF-8")));
        return file;
    }

    private static String checkName(String name) {
        if (!FixtureIndex.SAFE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("\"" + name + "\" cannot be used as a file name (letters, digits, _ . - only)");
        }
        return name;
    }
}
