package ai.mobilekit.qa.harness;

import java.util.List;
import java.util.Map;

/** Typed access to one JSON object's fields, with errors naming the file and the field's path. */
final class JsonFields {
    final String source;
    final String prefix;
    final Map<String, Object> map;

    JsonFields(String source, String prefix, Map<String, Object> map) {
        this.source = source;
        this.prefix = prefix;
        this.map = map;
    }

    FixtureException error(String key, String message) {
        return new FixtureException(source + ": " + prefix + key + ": " + message);
    }

    Object required(String key) throws FixtureException {
        if (!map.containsKey(key) || map.get(key) == null) {
            throw new FixtureException(source + ": " + (prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1) + ": ")
                    + "missing \"" + key + "\"");
        }
        return map.get(key);
    }

    String string(String key) throws FixtureException {
        Object v = required(key);
        if (!(v instanceof String)) {
            throw error(key, "must be a string");
        }
        return (String) v;
    }

    String optionalString(String key) throws FixtureException {
        return map.get(key) == null ? null : string(key);
    }

    Double optionalNumber(String key) throws FixtureException {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Number)) {
            throw error(key, "must be a number");
        }
        return Double.valueOf(((Number) v).doubleValue());
    }

    void optionalConstant(String key, String expected) throws FixtureException {
        if (map.containsKey(key) && !expected.equals(map.get(key))) {
            throw error(key, "must be \"" + expected + "\", not " + FixtureIndex.show(map.get(key)));
        }
    }

    String safeName(String key) throws FixtureException {
        String s = string(key);
        if (!FixtureIndex.SAFE_NAME.matcher(s).matches()) {
            throw error(key, "\"" + s + "\" cannot be used as a file name (letters, digits, _ . - only)");
        }
        return s;
    }

    String relativePath(String key) throws FixtureException {
        String s = string(key);
        if (s.isEmpty() || s.startsWith("/") || s.indexOf('\\') >= 0 || s.indexOf(':') >= 0) {
            throw error(key, "\"" + s + "\" must be a relative path with '/' separators");
        }
        for (String part : s.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw error(key, "\"" + s + "\" must stay inside the fixtures directory");
            }
        }
        return s;
    }

    long integer(String key) throws FixtureException {
        Object v = required(key);
        if (!(v instanceof Long)) {
            throw error(key, "must be an integer");
        }
        return ((Long) v).longValue();
    }

    List<Object> list(String key) throws FixtureException {
        Object v = required(key);
        if (!(v instanceof List)) {
            throw error(key, "must be a JSON array");
        }
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) v;
        return list;
    }

    Map<String, Object> object(String key) throws FixtureException {
        Object v = required(key);
        if (!(v instanceof Map)) {
            throw error(key, "must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        return m;
    }

    int[] shape(String key) throws FixtureException {
        List<Object> dims = list(key);
        int[] shape = new int[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            Object d = dims.get(i);
            if (!(d instanceof Long) || (Long) d < 0 || (Long) d > Integer.MAX_VALUE) {
                throw error(key, "must be a list of non-negative integers, found " + FixtureIndex.show(d));
            }
            shape[i] = ((Long) d).intValue();
        }
        try {
            Float32Tensor.elementCount(shape);
        } catch (IllegalArgumentException e) {
            throw error(key, e.getMessage());
        }
        return shape;
    }
}
