package ai.mobilekit.qa.harness.android;

import static org.junit.Assert.assertTrue;

import ai.mobilekit.qa.harness.FixtureIndex;
import ai.mobilekit.qa.harness.HarnessReport;
import ai.mobilekit.qa.harness.HarnessRunner;
import ai.mobilekit.qa.harness.OutputWriter;
import android.content.Context;
import android.content.res.AssetManager;
import android.os.Build;
import android.os.Bundle;
import android.util.Log;
import androidx.test.ext.junit.runners.AndroidJUnit4;
import androidx.test.platform.app.InstrumentationRegistry;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.tensorflow.lite.Interpreter;

/**
 * Runs every fixture case of an unzipped bundle on this device with LiteRT and writes the outputs
 * {@code mobilekit qa ingest} reads to {@code <external files dir>/mobilekit-qa-out/}.
 *
 * <p>The bundle is found at the instrumentation argument {@code bundleDir}, else
 * {@code <files dir>/mobilekit-bundle/}, else {@code <external files dir>/mobilekit-bundle/} (where
 * {@code adb push} can write), else it is copied from the test APK's assets {@code mobilekit-bundle/}.
 * Instrumentation arguments: {@code bundleDir}, {@code artifact} (path, file name or target when the
 * bundle has several .tflite files), {@code threads} (default 4).
 */
@RunWith(AndroidJUnit4.class)
public class FixtureInstrumentedTest {
    private static final String TAG = "MobilekitQA";
    private static final String BUNDLE = "mobilekit-bundle";
    private static final String OUT = "mobilekit-qa-out";

    @Test
    public void everyFixtureCasePassesOnDevice() throws Exception {
        Context context = InstrumentationRegistry.getInstrumentation().getTargetContext();
        Bundle args = InstrumentationRegistry.getArguments();
        File bundle = locateBundle(context, args.getString("bundleDir"));
        FixtureIndex index = FixtureIndex.load(new File(bundle, "fixtures"));
        FixtureIndex.Artifact artifact = index.artifact(args.getString("artifact"));
        int threads = Integer.parseInt(args.getString("threads", "4"));

        File external = context.getExternalFilesDir(null);
        File out = new File(external != null ? external : context.getFilesDir(), OUT);
        deleteTree(out);
        Interpreter.Options options = new Interpreter.Options();
        options.setNumThreads(threads);
        HarnessReport report;
        LiteRtModelRunner model = new LiteRtModelRunner(new File(bundle, artifact.path), options, "litert-cpu");
        try {
            report = new HarnessRunner(index, artifact, model, new OutputWriter(out)).run(
                    Build.MANUFACTURER + " " + Build.MODEL,
                    "Android " + Build.VERSION.RELEASE + " (API " + Build.VERSION.SDK_INT + ")",
                    "cpu, " + threads + " thread(s)");
        } finally {
            model.close();
        }
        StringBuilder text = new StringBuilder();
        for (String line : report.lines()) {
            Log.i(TAG, line);
            text.append(line).append('\n');
        }
        Log.i(TAG, "outputs in " + out.getAbsolutePath() + ": adb pull it, then mobilekit qa ingest --bundle B --outputs DIR");
        assertTrue("cases failed on device: " + report.failedCases() + "\n" + text + "outputs: " + out.getAbsolutePath(), report.passed());
    }

    private static File locateBundle(Context context, String argument) throws IOException {
        if (argument != null) {
            File dir = new File(argument);
            if (!new File(dir, "fixtures/index.json").isFile()) {
                throw new IOException(dir + "/fixtures/index.json: not found (instrumentation argument bundleDir)");
            }
            return dir;
        }
        File external = context.getExternalFilesDir(null);
        File[] candidates = {new File(context.getFilesDir(), BUNDLE), external != null ? new File(external, BUNDLE) : null};
        for (File dir : candidates) {
            if (dir != null && new File(dir, "fixtures/index.json").isFile()) {
                return dir;
            }
        }
        AssetManager assets = InstrumentationRegistry.getInstrumentation().getContext().getAssets();
        String[] bundled = assets.list(BUNDLE + "/fixtures");
        if (bundled == null || bundled.length == 0) {
            throw new IOException("no bundle: pass -e bundleDir DIR, push the unzipped bundle to " + (external != null ? candidates[1] : candidates[0])
                    + ", or put it in androidTest assets " + BUNDLE + "/");
        }
        File copy = new File(context.getCacheDir(), BUNDLE);
        deleteTree(copy);
        copyAssets(assets, BUNDLE, copy);
        return copy;
    }

    private static void copyAssets(AssetManager assets, String path, File dest) throws IOException {
        String[] children = assets.list(path);
        if (children != null && children.length > 0) {
            if (!dest.isDirectory() && !dest.mkdirs()) {
                throw new IOException(dest + ": cannot create directory");
            }
            for (String child : children) {
                copyAssets(assets, path + "/" + child, new File(dest, child));
            }
            return;
        }
        InputStream in = assets.open(path);
        try {
            OutputStream o = new FileOutputStream(dest);
            try {
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) != -1) {
                    o.write(buf, 0, n);
                }
            } finally {
                o.close();
            }
        } finally {
            in.close();
        }
    }

    private static void deleteTree(File f) {
        File[] children = f.listFiles();
        if (children != null) {
            for (File c : children) {
                deleteTree(c);
            }
        }
        f.delete();
    }
}
