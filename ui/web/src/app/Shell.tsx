import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { useLiveFeed } from '../live/LiveFeedProvider';
import { ALARMS_PATH } from '../pages/events/filters';
import { SignInNotice } from './SignInNotice';

/** The frame around every signed-in page: navigation, alarm badge, live-feed status, user menu. */
export function Shell() {
  const { user, can, logout } = useAuth();
  const feed = useLiveFeed();
  const navigate = useNavigate();
  const alarms = feed.eventCount?.count ?? 0;

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">bilbycast</div>
        <NavLink to="/" end>
          Dashboard
        </NavLink>
        <NavLink to="/events">Events</NavLink>
        {can('admin') && (
          <>
            <div className="nav-group">Administration</div>
            <NavLink to="/admin/nodes">Nodes</NavLink>
            <NavLink to="/admin/users">Users</NavLink>
            <NavLink to="/admin/audit">Audit log</NavLink>
            <NavLink to="/admin/drivers">Drivers</NavLink>
          </>
        )}
        <div className="nav-group">You</div>
        <NavLink to="/account">My account</NavLink>
      </nav>
      <div className="main">
        <header className="topbar">
          <NavLink to={ALARMS_PATH} className={`alarm-badge ${alarms > 0 ? 'active' : ''}`} aria-label={`Active alarms: ${alarms}`} data-testid="alarm-badge">
            Alarms <span className="count">{alarms}</span>
          </NavLink>
          <span className={`feed-status feed-${feed.status}`} role="status">
            {feed.status === 'connected' ? 'Live' : feed.status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
          </span>
          <span className="spacer" />
          <span className="user">
            {user?.display_name || user?.username} <span className="muted">({user?.role})</span>
          </span>
          <button
            type="button"
            className="secondary small"
            onClick={() => {
              // Leave first, so the sign-in guard does not remember this page as "next".
              void navigate('/login', { replace: true });
              logout().catch(() => navigate('/login?error=signout_failed', { replace: true }));
            }}
          >
            Sign out
          </button>
        </header>
        <SignInNotice />
        {feed.status === 'reconnecting' && (
          <div className="banner" role="alert">
            Server connection lost — live data is not updating. Reconnecting…
          </div>
        )}
        <div className="content">
          <Outlet />
        </div>
      </div>
    </div>
  );
}
