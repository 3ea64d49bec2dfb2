import { useMemo, useState } from 'react';
import { flag } from '../../format.ts';
import { Field } from '../../components/ui.tsx';
import type { Location } from '../../v1-types.ts';

/** Countries as a searchable flag grid, regions as a row above it; "Everywhere" clears the choice. */
export function LocationPicker({ locations, value, onChange }: { locations: Location[]; value: string; onChange: (code: string) => void }) {
  const [find, setFind] = useState('');
  const needle = find.trim().toLowerCase();
  const matches = (l: Location) => !needle || l.name.toLowerCase().includes(needle) || l.code.toLowerCase() === needle;
  const regions = useMemo(() => locations.filter((l) => l.type === 'region'), [locations]);
  const countries = useMemo(() => locations.filter((l) => l.type === 'country').sort((a, b) => a.name.localeCompare(b.name)), [locations]);
  const shownRegions = regions.filter(matches);
  const shownCountries = countries.filter(matches);
  const item = (l: Location) => (
    <button key={l.code} type="button" className="btn" aria-pressed={value === l.code} onClick={() => onChange(value === l.code ? '' : l.code)} title={l.type === 'region' ? l.countries.map((c) => c.name).join(', ') : undefined}>
      <span className="flag" aria-hidden="true">
        {flag(l.code)}
      </span>
      <span>{l.name}</span>
    </button>
  );
  return (
    <div>
      <Field label="Find a country or region">
        {(id) => <input id={id} type="search" value={find} placeholder="e.g. Japan, Europe, US" onChange={(e) => setFind(e.target.value)} autoComplete="off" />}
      </Field>
      <div className="chip-row" role="group" aria-label="Regions">
        <button type="button" className="btn btn-small" aria-pressed={value === ''} onClick={() => onChange('')}>
          <span aria-hidden="true">🌐</span> Everywhere
        </button>
        {shownRegions.map((l) => (
          <button key={l.code} type="button" className="btn btn-small" aria-pressed={value === l.code} onClick={() => onChange(value === l.code ? '' : l.code)}>
            {l.name}
          </button>
        ))}
      </div>
      {shownCountries.length ? (
        <div className="flag-grid" role="group" aria-label="Countries">
          {shownCountries.map(item)}
        </div>
      ) : (
        <p className="muted small">No country matches “{find}”.</p>
      )}
    </div>
  );
}
