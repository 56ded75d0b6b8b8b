package ai.mobilekit.qa.harness;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** File reading and writing with java.io only (works on every Android API level). */
final class IoUtil {
    private IoUtil() {
    }

    static byte[] readBytes(File file) throws IOException {
        InputStream in = new FileInputStream(file);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.max(0, Math.min(file.length(), Integer.MAX_VALUE - 8)));
            byte[] chunk = new byte[64 * 1024];
            int n;
            while ((n = in.read(chunk)) != -1) {
                out.write(chunk, 0, n);
            }
            return out.toByteArray();
        } finally {
            in.close();
        }
    }

    /** Writes {@code data} to {@code file}, creating parent directories; errors name the file. */
    static void writeBytes(File file, byte[] data) throws IOException {
        File parent = file.getAbsoluteFile().getParentFile();
        if (parent != null && !parent.isDirectory() && !parent.mkdirs() && !parent.isDirectory()) {
            throw new IOException(parent + ": cannot create directory");
        }
        OutputStream out;
        try {
            out = new FileOutputStream(file);
        } catch (IOException e) {
            throw new IOException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
        try {
            out.write(data);
        } catch (IOException e) {
            throw new IOException(file + ": cannot write (" + e.getMessage() + ")", e);
        } finally {
            out.close();
        }
    }
}
