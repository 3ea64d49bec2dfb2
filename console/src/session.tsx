import { createContext, useContext } from 'react';
import type { SessionInfo } from './api.ts';

export interface SessionContextValue {
  session: SessionInfo;
  /** Re-reads the session (after a password change, say). */
  refresh: () => Promise<void>;
  logout: () => Promise<void>;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a logged-in page');
  return value;
}

/** The logged-in partner (partner pages only render for partner users). */
export function usePartner(): NonNullable<SessionInfo['partner']> {
  const { session } = useSession();
  if (!session.partner) throw new Error('usePartner on an operator session');
  return session.partner;
}
