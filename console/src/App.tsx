import { useCallback, useEffect, useState } from 'react';
import { Redirect, Route, Router, Switch } from 'wouter';
import { api, ApiError, setCsrfToken, setUnauthenticatedHandler, type SessionInfo } from './api.ts';
import { SessionContext } from './session.tsx';
import { Layout } from './components/Layout.tsx';
import { Loading, ErrorNotice } from './components/ui.tsx';
import { LoginPage, SignupPage } from './pages/Auth.tsx';
import { DashboardPage } from './pages/partner/Dashboard.tsx';
import { BillingPage } from './pages/partner/Billing.tsx';
import { ProductsPage } from './pages/partner/Products.tsx';
import { BuyPage } from './pages/partner/Buy.tsx';
import { EsimsPage } from './pages/partner/Esims.tsx';
import { EsimDetailPage } from './pages/partner/EsimDetail.tsx';
import { ApiKeysPage } from './pages/partner/ApiKeys.tsx';
import { WebhooksPage } from './pages/partner/Webhooks.tsx';
import { BrandingPage } from './pages/partner/Branding.tsx';
import { OperatorOverviewPage } from './pages/operator/Overview.tsx';
import { OperatorPartnersPage } from './pages/operator/Partners.tsx';
import { OperatorDepositsPage } from './pages/operator/Deposits.tsx';
import { OperatorCatalogPage } from './pages/operator/Catalog.tsx';
import { OperatorPoolsPage } from './pages/operator/Pools.tsx';

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);

  const adopt = useCallback((next: SessionInfo | null) => {
    setCsrfToken(next?.csrf_token ?? '');
    setSession(next);
  }, []);

  const refresh = useCallback(async () => {
    try {
      const found = await api.get<SessionInfo | { user: null }>('/console/api/session');
      adopt(found.user ? (found as SessionInfo) : null);
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) adopt(null);
      else setError(err as Error);
    }
  }, [adopt]);

  useEffect(() => {
    setUnauthenticatedHandler(() => adopt(null));
    void refresh();
  }, [adopt, refresh]);

  const logout = useCallback(async () => {
    await api.post('/console/api/logout').catch(() => undefined);
    adopt(null);
  }, [adopt]);

  if (session === undefined) return error ? <ErrorNotice error={error} /> : <Loading />;

  return (
    <Router base="/console">
      {session === null ? (
        <Switch>
          <Route path="/signup">{() => <SignupPage onSession={adopt} />}</Route>
          <Route>{() => <LoginPage onSession={adopt} />}</Route>
        </Switch>
      ) : (
        <SessionContext.Provider value={{ session, refresh, logout }}>
          <Layout>{session.user.role === 'operator' ? <OperatorRoutes /> : <PartnerRoutes />}</Layout>
        </SessionContext.Provider>
      )}
    </Router>
  );
}

function PartnerRoutes() {
  return (
    <Switch>
      <Route path="/" component={DashboardPage} />
      <Route path="/billing" component={BillingPage} />
      <Route path="/products" component={ProductsPage} />
      <Route path="/buy" component={BuyPage} />
      <Route path="/esims" component={EsimsPage} />
      <Route path="/esims/:id">{(params) => <EsimDetailPage id={params.id} />}</Route>
      <Route path="/api-keys" component={ApiKeysPage} />
      <Route path="/webhooks" component={WebhooksPage} />
      <Route path="/branding" component={BrandingPage} />
      <Route path="/login">{() => <Redirect to="/" />}</Route>
      <Route path="/signup">{() => <Redirect to="/" />}</Route>
      <Route>{() => <NotFound />}</Route>
    </Switch>
  );
}

function OperatorRoutes() {
  return (
    <Switch>
      <Route path="/">{() => <Redirect to="/operator" />}</Route>
      <Route path="/operator" component={OperatorOverviewPage} />
      <Route path="/operator/partners" component={OperatorPartnersPage} />
      <Route path="/operator/deposits" component={OperatorDepositsPage} />
      <Route path="/operator/catalog" component={OperatorCatalogPage} />
      <Route path="/operator/pools" component={OperatorPoolsPage} />
      <Route path="/login">{() => <Redirect to="/operator" />}</Route>
      <Route>{() => <NotFound />}</Route>
    </Switch>
  );
}

function NotFound() {
  return (
    <div className="card">
      <h1>Page not found</h1>
      <p>
        <a href="/console/">Back to the start</a>
      </p>
    </div>
  );
}
