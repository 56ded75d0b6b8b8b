package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class Float32TensorTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static final float[] VALUES = {1.0f, -2.5f, 0.0f, 0.1f};
    private static final byte[] LITTLE_ENDIAN_BYTES = {
        0x00, 0x00, (byte) 0x80, 0x3f, // 1.0f   = 0x3f800000
        0x00, 0x00, 0x20, (byte) 0xc0, // -2.5f  = 0xc0200000
        0x00, 0x00, 0x00, 0x00, // 0.0f
        (byte) 0xcd, (byte) 0xcc, (byte) 0xcc, 0x3d, // 0.1f = 0x3dcccccd
    };

    @Test
    public void encodesLittleEndianRowMajor() throws Exception {
        Float32Tensor t = new Float32Tensor(new int[] {1, 2, 2}, VALUES.clone());
        assertArrayEquals(LITTLE_ENDIAN_BYTES, t.encode());
        Float32Tensor back = Float32Tensor.decode(LITTLE_ENDIAN_BYTES, new int[] {1, 2, 2}, "test");
        assertArrayEquals(VALUES, back.data(), 0f);
        assertArrayEquals(new int[] {1, 2, 2}, back.shape());
        assertEquals(16L, Float32Tensor.byteCount(new int[] {1, 2, 2}));
        assertEquals("1×64×64×3", Float32Tensor.describeShape(new int[] {1, 64, 64, 3}));
    }

    @Test
    public void writesAndReadsWithSha256Check() throws Exception {
        File f = new File(tmp.getRoot(), "a/b/t.bin");
        new Float32Tensor(new int[] {4}, VALUES.clone()).write(f);
        assertArrayEquals(LITTLE_ENDIAN_BYTES, IoUtil.readBytes(f));
        String sha = Float32Tensor.sha256(LITTLE_ENDIAN_BYTES);
        assertArrayEquals(VALUES, Float32Tensor.read(f, new int[] {4}, sha).data(), 0f);
    }

    @Test
    public void sha256IsLowercaseHex() {
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Float32Tensor.sha256(new byte[] {'a', 'b', 'c'}));
    }

    @Test
    public void sizeMismatchNamesFileAndExpectedBytes() throws Exception {
        File f = tmp.newFile("short.bin");
        IoUtil.writeBytes(f, new byte[12]);
        try {
            Float32Tensor.read(f, new int[] {1, 2, 2}, null);
            fail();
        } catch (FixtureException e) {
            assertEquals(f.getPath() + ": 12 bytes, expected 16 (float32 little-endian, shape 1×2×2)", e.getMessage());
        }
    }

    @Test
    public void sha256MismatchIsACorruptFixture() throws Exception {
        File f = tmp.newFile("t.bin");
        IoUtil.writeBytes(f, LITTLE_ENDIAN_BYTES);
        String wrong = Float32Tensor.sha256(new byte[16]);
        try {
            Float32Tensor.read(f, new int[] {4}, wrong);
            fail();
        } catch (FixtureException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith(f.getPath() + ": sha256 "));
            assertTrue(e.getMessage(), e.getMessage().contains("corrupt fixture"));
        }
        try {
            Float32Tensor.read(new File(tmp.getRoot(), "gone.bin"), new int[] {4}, null);
            fail();
        } catch (FixtureException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("gone.bin: missing (expected 16 bytes"));
        }
    }

    @Test
    public void directBuffersRoundTripWhateverTheirPosition() {
        Float32Tensor t = new Float32Tensor(new int[] {2, 2}, VALUES.clone());
        ByteBuffer buf = t.toDirectBuffer();
        assertTrue(buf.isDirect());
        assertEquals(ByteOrder.LITTLE_ENDIAN, buf.order());
        assertEquals(0, buf.position());
        byte[] raw = new byte[16];
        buf.duplicate().get(raw);
        assertArrayEquals(LITTLE_ENDIAN_BYTES, raw);
        buf.position(16); // as the interpreter leaves an output buffer after copying into it
        assertArrayEquals(VALUES, Float32Tensor.fromBuffer(buf, new int[] {2, 2}).data(), 0f);
    }

    @Test
    public void rejectsValuesThatDoNotFillTheShape() {
        try {
            new Float32Tensor(new int[] {1, 3}, new float[4]);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("do not fill shape 1×3"));
        }
    }
}
