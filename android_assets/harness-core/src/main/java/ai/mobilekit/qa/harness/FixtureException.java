package ai.mobilekit.qa.harness;

/**
 * Bad input: an index, fixture file or argument the harness cannot use. The message is one line and
 * names the file (or argument) at fault, e.g. {@code fixtures/index.json: cases[0]: missing "id"}.
 */
public class FixtureException extends Exception {
    private static final long serialVersionUID = 1L;

    public FixtureException(String message) {
        super(message);
    }

    public FixtureException(String message, Throwable cause) {
        super(message, cause);
    }
}
