import { useEffect } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { loginUrl, setUnauthorizedHandler } from '../api/client';
import { AuthProvider, useAuth } from '../auth/AuthProvider';
import { LiveFeedProvider } from '../live/LiveFeedProvider';
import { AccountPage } from '../pages/AccountPage';
import { AuditPage } from '../pages/AuditPage';
import { DashboardPage } from '../pages/DashboardPage';
import { DriversPage } from '../pages/DriversPage';
import { EventsPage } from '../pages/EventsPage';
import { LoginPage } from '../pages/LoginPage';
import { NodeDetailPage } from '../pages/NodeDetailPage';
import { NodesPage } from '../pages/NodesPage';
import { UsersPage } from '../pages/UsersPage';
import { Shell } from './Shell';

/** Signed-out visitors go to the login page and come back here afterwards. */
function RequireAuth() {
  const { user, refresh } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      // The login page is shown whether or not the manager answers.
      refresh().catch(() => undefined);
      void navigate(loginUrl(window.location.pathname + window.location.search), { replace: true });
    });
  }, [navigate, refresh]);
  if (user === undefined) return <div className="loading">Loading…</div>;
  if (user === null) return <Navigate to={loginUrl(location.pathname + location.search)} replace />;
  return (
    <LiveFeedProvider>
      <Shell />
    </LiveFeedProvider>
  );
}

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route element={<RequireAuth />}>
            <Route index element={<DashboardPage />} />
            <Route path="/nodes/:id" element={<NodeDetailPage />} />
            <Route path="/events" element={<EventsPage />} />
            <Route path="/admin/nodes" element={<NodesPage />} />
            <Route path="/admin/users" element={<UsersPage />} />
            <Route path="/admin/audit" element={<AuditPage />} />
            <Route path="/admin/drivers" element={<DriversPage />} />
            <Route path="/account" element={<AccountPage />} />
            <Route path="*" element={<p>Page not found.</p>} />
          </Route>
        </Routes>
      </BrowserRouter>
    </AuthProvider>
  );
}
