import type { CSSProperties } from 'react';
import './branding-preview.css';

/** A small likeness of the install page's top, drawn from the form's current (unsaved) values. */
export function InstallPreview({ name, logo, accent }: { name: string; logo: string | null; accent: string }) {
  const style = { '--branding-accent': accent } as CSSProperties;
  return (
    <div className="branding-phone" style={style} aria-label="Install page preview" role="img">
      <div className="branding-header">
        {logo ? <img src={logo} alt="" /> : null}
        <span>{name || 'Your brand'}</span>
      </div>
      <div className="branding-title">Install your eSIM</div>
      <div className="branding-qr" aria-hidden="true" />
      <div className="branding-button">Install on iPhone</div>
      <div className="branding-button branding-alt">Install on Android</div>
    </div>
  );
}
