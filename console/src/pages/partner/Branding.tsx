import { useEffect, useState, type ChangeEvent, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { Card, ErrorNotice, Field, Loading, Modal, Notice, PageHeader, useAction, useAsync } from '../../components/ui.tsx';
import { InstallPreview } from './branding-preview.tsx';
import { LOGO_MAX_BYTES, LOGO_TYPES, type BrandingData } from './branding-types.ts';
import type { Esim, Page } from '../../v1-types.ts';

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

export function BrandingPage() {
  const branding = useAsync((signal) => api.get<BrandingData>('/console/api/branding', { signal }), []);
  const latest = useAsync((signal) => api.get<Page<Pick<Esim, 'id' | 'install_url' | 'iccid'>>>('/v1/esims?limit=1', { signal }), []);
  const [name, setName] = useState('');
  const [logo, setLogo] = useState<string | null>(null);
  const [accent, setAccent] = useState('#0a58ca');
  const [fileError, setFileError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [confirmReset, setConfirmReset] = useState(false);
  const [fileKey, setFileKey] = useState(0);

  useEffect(() => {
    if (!branding.data) return;
    setName(branding.data.display_name);
    setLogo(branding.data.logo_data_url);
    setAccent(branding.data.accent_color);
  }, [branding.data]);

  const save = useAction(async () => api.put<BrandingData>('/console/api/branding', { display_name: name, logo_data_url: logo, accent_color: accent }));
  const reset = useAction(async () => api.delete('/console/api/branding').then(() => true));

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    setFileError(null);
    const file = event.target.files?.[0];
    if (!file) return;
    if (!LOGO_TYPES.includes(file.type)) {
      setFileError('Choose a PNG, JPEG or SVG image.');
      return;
    }
    if (file.size > LOGO_MAX_BYTES) {
      setFileError(`The file is ${Math.ceil(file.size / 1024)} kB; the logo may be at most 100 kB.`);
      return;
    }
    try {
      setLogo(await readAsDataUrl(file));
    } catch (err) {
      setFileError((err as Error).message);
    }
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSaved(null);
    const result = await save.run();
    if (result) {
      setSaved('Saved: your install pages and QR codes now show this branding.');
      branding.reload();
    }
  }

  const version = branding.data?.updated_at ?? 'none';
  const installUrl = latest.data?.data[0]?.install_url;
  return (
    <>
      <PageHeader title="Branding" subtitle="Your name, logo and colour on your customers' install pages and QR codes, instead of esimhub's." />
      <ErrorNotice error={branding.error} />
      {!branding.data ? (
        branding.loading ? <Loading /> : null
      ) : (
        <div className="grid-2">
          <Card title="Your brand">
            <form onSubmit={onSubmit} noValidate>
              <Field label="Display name" hint="Shown at the top of install pages and under branded QR codes (up to 60 characters).">
                {(id) => <input id={id} name="display_name" maxLength={60} required value={name} onChange={(e) => setName(e.target.value)} />}
              </Field>
              <Field label="Logo" hint="PNG, JPEG or SVG, at most 100 kB. SVGs with scripts, event handlers or external links are refused." error={fileError}>
                {(id) => (
                  <div className="branding-logo-row">
                    {logo ? <img src={logo} alt="Current logo" /> : <span className="muted small">No logo</span>}
                    <input key={fileKey} id={id} type="file" accept="image/png,image/jpeg,image/svg+xml" onChange={(e) => void onFile(e)} />
                    {logo ? (
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => {
                          setLogo(null);
                          setFileKey((k) => k + 1);
                        }}
                      >
                        Remove logo
                      </button>
                    ) : null}
                  </div>
                )}
              </Field>
              <Field label="Accent colour" hint="Buttons and the line under your name.">
                {(id) => (
                  <div className="branding-color">
                    <input id={id} type="color" value={accent} onChange={(e) => setAccent(e.target.value)} />
                    <span className="mono">{accent}</span>
                  </div>
                )}
              </Field>
              <ErrorNotice error={save.error} />
              {saved ? <Notice kind="success">{saved}</Notice> : null}
              <div className="row">
                <button type="submit" className="btn btn-primary" disabled={save.busy || !name.trim()}>
                  {save.busy ? 'Saving…' : 'Save branding'}
                </button>
                {branding.data.configured ? (
                  <button type="button" className="btn" onClick={() => setConfirmReset(true)}>
                    Remove branding
                  </button>
                ) : null}
              </div>
            </form>
          </Card>
          <Card title="Preview">
            <div className="grid-2">
              <div>
                <h3 className="small muted">Install page (as you edit)</h3>
                <InstallPreview name={name} logo={logo} accent={accent} />
              </div>
              <div>
                <h3 className="small muted">Branded QR code (saved)</h3>
                <img className="branding-qr-img" src={`/console/api/branding/qr-preview.svg?v=${encodeURIComponent(version)}`} alt="Preview of your branded QR code with a sample activation code" />
              </div>
            </div>
            {installUrl ? (
              <p className="small">
                <a href={installUrl} target="_blank" rel="noreferrer">
                  Open the install page of your latest eSIM
                </a>
              </p>
            ) : (
              <p className="muted small">Buy an eSIM to see a real install page.</p>
            )}
            <p className="muted small">Each eSIM's branded QR code is at its QR link with .svg instead of .png.</p>
          </Card>
        </div>
      )}
      <Modal open={confirmReset} title="Remove your branding?" onClose={() => setConfirmReset(false)}>
        <div className="stack">
          <p>Install pages and QR codes go back to the neutral design.</p>
          <ErrorNotice error={reset.error} />
          <div className="row">
            <button
              type="button"
              className="btn btn-danger"
              disabled={reset.busy}
              onClick={async () => {
                if (await reset.run()) {
                  setConfirmReset(false);
                  setSaved(null);
                  setFileKey((k) => k + 1);
                  branding.reload();
                }
              }}
            >
              Remove branding
            </button>
            <button type="button" className="btn" onClick={() => setConfirmReset(false)}>
              Cancel
            </button>
          </div>
        </div>
      </Modal>
    </>
  );
}
