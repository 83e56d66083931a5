/**
 * The token prompt. The admin token is `token` in DSTACK_HOME/config.yml; it is checked against the API once,
 * then kept in sessionStorage (this tab only, gone when it closes) and sent as a Bearer header, never in a URL.
 */
import { useState } from 'preact/hooks';
import { ApiError, checkToken } from '../api.js';

export function LoginPage({ onToken, notice }: { onToken: (token: string) => void; notice?: string | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return setError('Enter the admin token.');
    setBusy(true);
    try {
      await checkToken(value);
      onToken(value);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That token was not accepted. The admin token is the `token` value in DSTACK_HOME/config.yml (~/.dstack/config.yml by default).'
          : err instanceof ApiError
            ? `The server answered ${err.status}: ${err.message}`
            : 'The dstack server could not be reached.',
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">dstack</h1>
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          autofocus
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby={error ? 'login-error' : 'login-help'}
          aria-invalid={error ? true : undefined}
        />
        <p id="login-help" class="muted">
          The <code>token</code> in <code>DSTACK_HOME/config.yml</code>. It stays in this tab only.
        </p>
        {error ? (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
