import { useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { api, type SessionInfo } from '../api.ts';
import { ErrorNotice, Field, useAction, useAsync } from '../components/ui.tsx';

export function LoginPage({ onSession }: { onSession: (session: SessionInfo) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useAction(async () => onSession(await api.post<SessionInfo>('/console/api/login', { email, password })));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void login.run();
  };
  return (
    <main className="auth" id="main">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand-large">esimhub</div>
        <h1 id="login-title">Log in</h1>
        <ErrorNotice error={login.error} />
        <Field label="Email">{(id) => <input id={id} type="email" autoComplete="username" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)} />}</Field>
        <Field label="Password">{(id) => <input id={id} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}</Field>
        <button type="submit" className="btn btn-primary btn-block" disabled={login.busy}>
          {login.busy ? 'Logging in…' : 'Log in'}
        </button>
        <p className="muted">
          No account yet? <Link href="/signup">Create a sandbox account</Link>
        </p>
      </form>
    </main>
  );
}

export function SignupPage({ onSession }: { onSession: (session: SessionInfo) => void }) {
  const [form, setForm] = useState({ company: '', email: '', password: '', currency: 'USD' });
  const currencies = useAsync((signal) => api.get<{ currencies: string[] }>('/console/api/currencies', { signal }), []);
  const signup = useAction(async () => onSession(await api.post<SessionInfo>('/console/api/signup', form)));
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: event.target.value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void signup.run();
  };
  return (
    <main className="auth" id="main">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="signup-title">
        <div className="brand brand-large">esimhub</div>
        <h1 id="signup-title">Create a sandbox account</h1>
        <p className="muted">Test every API with simulated eSIMs and play money. Going live is a request to the operator.</p>
        <ErrorNotice error={signup.error} />
        <Field label="Company">{(id) => <input id={id} autoComplete="organization" required maxLength={200} value={form.company} onChange={set('company')} />}</Field>
        <Field label="Email">{(id) => <input id={id} type="email" autoComplete="email" required value={form.email} onChange={set('email')} />}</Field>
        <Field label="Password" hint="At least 10 characters.">
          {(id) => <input id={id} type="password" autoComplete="new-password" required minLength={10} value={form.password} onChange={set('password')} />}
        </Field>
        <Field label="Currency">
          {(id) => (
            <select id={id} value={form.currency} onChange={set('currency')}>
              {(currencies.data?.currencies ?? ['USD']).map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="btn btn-primary btn-block" disabled={signup.busy}>
          {signup.busy ? 'Creating…' : 'Create account'}
        </button>
        <p className="muted">
          Have an account? <Link href="/login">Log in</Link>
        </p>
      </form>
    </main>
  );
}
