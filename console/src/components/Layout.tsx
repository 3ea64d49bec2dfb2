import { useState, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { useSession } from '../session.tsx';

const PARTNER_NAV = [
  { href: '/', label: 'Dashboard' },
  { href: '/products', label: 'Products' },
  { href: '/buy', label: 'Buy' },
  { href: '/esims', label: 'eSIMs' },
  { href: '/billing', label: 'Billing' },
  { href: '/api-keys', label: 'API keys' },
  { href: '/webhooks', label: 'Webhooks' },
  { href: '/branding', label: 'Branding' },
];

const OPERATOR_NAV = [
  { href: '/operator', label: 'Overview' },
  { href: '/operator/partners', label: 'Partners' },
  { href: '/operator/deposits', label: 'Deposits' },
  { href: '/operator/catalog', label: 'Catalog' },
  { href: '/operator/pools', label: 'Profile pools' },
];

export function Layout({ children }: { children: ReactNode }) {
  const { session, logout } = useSession();
  const [location] = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const nav = session.user.role === 'operator' ? OPERATOR_NAV : PARTNER_NAV;
  const isActive = (href: string) => (href === '/' || href === '/operator' ? location === href : location === href || location.startsWith(`${href}/`));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href={session.user.role === 'operator' ? '/operator' : '/'} className="brand">
          esimhub
        </Link>
        {session.partner ? (
          <span className={`env env-${session.partner.environment}`} title="Environment">
            {session.partner.environment}
          </span>
        ) : (
          <span className="env env-operator">operator</span>
        )}
        <button type="button" className="btn btn-ghost menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <div className="topbar-right">
          <span className="muted small who">{session.partner ? `${session.partner.name} · ` : ''}{session.user.email}</span>
          <button type="button" className="btn btn-small" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <div className="body">
        <nav id="nav" className={`sidenav ${menuOpen ? 'open' : ''}`} aria-label="Main">
          <ul>
            {nav.map((item) => (
              <li key={item.href}>
                <Link href={item.href} className={isActive(item.href) ? 'active' : ''} aria-current={isActive(item.href) ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" className="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
