// The dashboard shell: sign in with a token or API key, then the pages behind a hash router.
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { closeSocket, gql, token, type Role } from './api';
import { Overview } from './overview';
import { StrategyDetail } from './strategy';
import { Storage } from './storage';
import './style.css';

interface Viewer { label: string; role: Role; organization: { name: string } }

function SignIn({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    token.set(value.trim());
    try { await gql('{ viewer { role } }'); onDone(); } catch (x) { token.clear(); setErr((x as Error).message); }
  };
  return html`<form class="signin" onSubmit=${submit}>
    <h1>Keepsake</h1>
    <label>Token or API key <input name="token" type="password" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} autofocus /></label>
    <button type="submit">Sign in</button>
    ${err && html`<p class="error">${err}</p>`}
  </form>`;
}

function App() {
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [route, setRoute] = useState(location.hash.slice(1) || '/');
  const [signedIn, setSignedIn] = useState(!!token.get());
  useEffect(() => { const f = () => setRoute(location.hash.slice(1) || '/'); addEventListener('hashchange', f); return () => removeEventListener('hashchange', f); }, []);
  useEffect(() => {
    if (!signedIn) return;
    gql<{ viewer: Viewer }>('{ viewer { label role organization { name } } }').then((d) => setViewer(d.viewer), () => { token.clear(); setSignedIn(false); });
  }, [signedIn]);
  if (!signedIn) return html`<${SignIn} onDone=${() => setSignedIn(true)} />`;
  if (!viewer) return html`<p>Loading…</p>`;
  const go = (p: string) => { location.hash = p; };
  const signOut = () => { token.clear(); closeSocket(); setViewer(null); setSignedIn(false); };
  const strategy = /^\/strategy\/(.+)$/.exec(route);
  return html`
    <header><strong>Keepsake</strong> · ${viewer.organization.name}
      <nav><a href="#/">Overview</a><a href="#/storage">Storage</a><a href="/graphql">GraphiQL</a></nav>
      <span class="who">${viewer.label} (${viewer.role}) <button onClick=${signOut}>Sign out</button></span></header>
    <main>${strategy ? html`<${StrategyDetail} id=${decodeURIComponent(strategy[1]!)} role=${viewer.role} />` : route === '/storage' ? html`<${Storage} />` : html`<${Overview} role=${viewer.role} go=${go} />`}</main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
