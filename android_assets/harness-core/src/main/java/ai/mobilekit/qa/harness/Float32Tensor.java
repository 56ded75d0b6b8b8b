package ai.mobilekit.qa.harness;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * A float32 tensor: a shape (batch dimension included) and its values in row-major (C) order. Its wire
 * form, in fixtures and device outputs alike, is raw little-endian float32 with no header.
 */
public final class Float32Tensor {
    private final int[] shape;
    private final float[] data;

    /** Wraps {@code data} (not copied); its length must be the product of {@code shape}. */
    public Float32Tensor(int[] shape, float[] data) {
        int n = elementCount(shape);
        if (data.length != n) {
            throw new IllegalArgumentException(data.length + " values do not fill shape " + describeShape(shape) + " (" + n + " values)");
        }
        this.shape = shape.clone();
        this.data = data;
    }

    public int[] shape() {
        return shape.clone();
    }

    /** The values, row-major; the array is shared, not copied. */
    public float[] data() {
        return data;
    }

    public boolean hasShape(int[] other) {
        return Arrays.equals(shape, other);
    }

    /** Product of the dimensions; an error for a negative dimension or more than fit a float[] of bytes. */
    public static int elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + describeShape(shape));
            }
            n *= d;
            if (n > (Integer.MAX_VALUE - 8) / 4) {
                throw new IllegalArgumentException("shape " + describeShape(shape) + " is too large");
            }
        }
        return (int) n;
    }

    /** Bytes of the wire form: 4 per element. */
    public static long byteCount(int[] shape) {
        return 4L * elementCount(shape);
    }

    /** E.g. {@code 1×64×64×3} (as {@code qa ingest} prints shapes). */
    public static String describeShape(int[] shape) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            sb.append(i > 0 ? "×" : "").append(shape[i]);
        }
        return shape.length == 0 ? "scalar" : sb.toString();
    }

    /**
     * Reads a fixture file: its size must be exactly product(shape)×4 bytes and, when {@code sha256}
     * is not null, its SHA-256 must match (lowercase hex).
     */
    public static Float32Tensor read(File file, int[] shape, String sha256) throws FixtureException {
        if (!file.isFile()) {
            throw new FixtureException(file + ": missing (expected " + byteCount(shape) + " bytes: float32 little-endian, shape "
                    + describeShape(shape) + ")");
        }
        byte[] bytes;
        try {
            bytes = IoUtil.readBytes(file);
        } catch (IOException e) {
            throw new FixtureException(file + ": unreadable (" + e.getMessage() + ")", e);
        }
        Float32Tensor t = decode(bytes, shape, file.getPath());
        if (sha256 != null) {
            String actual = sha256(bytes);
            if (!actual.equals(sha256)) {
                throw new FixtureException(file + ": sha256 " + actual + " does not match the index (" + sha256 + "): corrupt fixture");
            }
        }
        return t;
    }

    /** Decodes little-endian float32 bytes; {@code source} names them in the size error. */
    public static Float32Tensor decode(byte[] bytes, int[] shape, String source) throws FixtureException {
        long want = byteCount(shape);
        if (bytes.length != want) {
            throw new FixtureException(source + ": " + bytes.length + " bytes, expected " + want + " (float32 little-endian, shape "
                    + describeShape(shape) + ")");
        }
        float[] values = new float[(int) (want / 4)];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return new Float32Tensor(shape, values);
    }

    /** The wire form: little-endian float32, row-major. */
    public byte[] encode() {
        ByteBuffer buf = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        return buf.array();
    }

    /** A direct little-endian buffer holding the wire form, positioned at 0 (what LiteRT takes as input). */
    public ByteBuffer toDirectBuffer() {
        ByteBuffer buf = ByteBuffer.allocateDirect(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        buf.rewind();
        return buf;
    }

    /** Reads {@code product(shape)} little-endian floats from the start of {@code buffer} (its position is ignored). */
    public static Float32Tensor fromBuffer(ByteBuffer buffer, int[] shape) {
        int n = elementCount(shape);
        if (buffer.capacity() < 4L * n) {
            throw new IllegalArgumentException("buffer of " + buffer.capacity() + " bytes is too small for shape " + describeShape(shape));
        }
        ByteBuffer view = buffer.duplicate();
        view.clear();
        float[] values = new float[n];
        view.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return new Float32Tensor(shape, values);
    }

    /** Writes the wire form to {@code file}, creating parent directories. */
    public void write(File file) throws IOException {
        IoUtil.writeBytes(file, encode());
    }

    /** SHA-256 of {@code bytes} as lowercase hex (the index's {@code sha256}). */
    public static String sha256(byte[] bytes) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e); // every Java platform has it
        }
        byte[] digest = md.digest(bytes);
        StringBuilder sb = new StringBuilder(64);
        for (byte b : digest) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }
}
