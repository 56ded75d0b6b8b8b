package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
    @Test
    public void parsesNestedValuesWithTypesAndOrder() throws Exception {
        Object v = Json.parse(" {\"b\": [1, -2.5, 3e2, 0, -0.0, true, false, null, {\"x\": []}], \"a\": {}, \"big\": 12345678901234567890}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(Arrays.asList("b", "a", "big"), Arrays.asList(m.keySet().toArray()));
        List<?> b = (List<?>) m.get("b");
        assertEquals(Long.valueOf(1), b.get(0));
        assertEquals(Double.valueOf(-2.5), b.get(1));
        assertEquals(Double.valueOf(300.0), b.get(2));
        assertEquals(Long.valueOf(0), b.get(3));
        assertEquals(Double.valueOf(-0.0), b.get(4));
        assertEquals(Boolean.TRUE, b.get(5));
        assertEquals(Boolean.FALSE, b.get(6));
        assertNull(b.get(7));
        assertTrue(((Map<?, ?>) b.get(8)).get("x") instanceof List);
        assertTrue(((Map<?, ?>) m.get("a")).isEmpty());
        assertEquals(Double.valueOf(1.2345678901234567e19), m.get("big"));
    }

    @Test
    public void decodesEscapesIncludingUnicode() throws Exception {
        assertEquals("\"\\/\b\f\n\r\t", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""));
        assertEquals("caf\u00e9 \u2713", Json.parse("\"caf\\u00e9 \\u2713\""));
        assertEquals("\ud83d\ude00", Json.parse("\"\\ud83D\\uDE00\""));
        assertEquals("\u00e9 raw", Json.parse("\"\u00e9 raw\""));
    }

    @Test
    public void rejectsInvalidDocuments() {
        String[] bad = {
            "", "  ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "NaN", "[Infinity]",
            "tru", "nul", "\"abc", "\"a\nb\"", "\"\\x\"", "\"\\u12g4\"", "\"\\u12\"", "{\"a\" 1}", "{1:2}", "[1 2]",
            "{} {}", "[1] x", "// c\n{}", "{\"a\":1,\"a\":2}", "\ufeff{}", "[1e999]",
        };
        for (String text : bad) {
            try {
                Object v = Json.parse(text);
                fail("accepted invalid JSON " + text + " as " + v);
            } catch (Json.ParseException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().startsWith("line "));
            }
        }
    }

    @Test
    public void errorsNameLineAndColumn() {
        try {
            Json.parse("{\n  \"a\": [1,\n  2,]\n}");
            fail();
        } catch (Json.ParseException e) {
            assertEquals(3, e.line);
            assertEquals(5, e.column);
            assertTrue(e.getMessage(), e.getMessage().contains("expected a value"));
        }
        try {
            Json.parse("{\"k\": 1, \"k\": 2}");
            fail();
        } catch (Json.ParseException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("duplicate key \"k\""));
        }
    }

    @Test
    public void refusesExcessiveNesting() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Json.MAX_DEPTH + 1; i++) {
            sb.append('[');
        }
        try {
            Json.parse(sb.toString());
            fail();
        } catch (Json.ParseException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nesting"));
        }
    }

    @Test
    public void writeRoundTrips() throws Exception {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("text", "quote \" backslash \\ newline \n tab \t ctrl \u0001 accent \u00e9");
        m.put("numbers", Arrays.<Object>asList(1L, -2.5, 1e-4, 0.0));
        m.put("flags", Arrays.<Object>asList(true, false, null));
        m.put("nested", new LinkedHashMap<String, Object>());
        String text = Json.write(m);
        assertEquals(m, Json.parse(text));
        for (char c : text.toCharArray()) {
            assertTrue("non-ASCII in output", c < 0x80);
        }
    }

    @Test(expected = IllegalArgumentException.class)
    public void writeRefusesNaN() {
        Json.write(Arrays.<Object>asList(Double.NaN));
    }
}
