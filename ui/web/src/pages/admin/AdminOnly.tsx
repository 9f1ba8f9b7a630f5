import type { ReactNode } from 'react';
import { useAuth } from '../../auth/AuthProvider';
import './admin.css';

/**
 * Renders `children` only for administrators; everyone else sees a plain notice and no
 * controls (and the page makes no admin-only API calls). The server enforces it regardless.
 */
export function AdminOnly({ title, children }: { title: string; children: ReactNode }) {
  const { can } = useAuth();
  if (!can('admin')) {
    return (
      <>
        <h1>{title}</h1>
        <div className="panel admin-only" role="alert" data-testid="admin-only">
          <strong>Administrators only.</strong> This page is for administrators. Ask an administrator if you need something changed here.
        </div>
      </>
    );
  }
  return <>{children}</>;
}
