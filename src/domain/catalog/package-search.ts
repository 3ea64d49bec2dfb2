import type { PackageTable } from '../../store/schema.ts';

/** Data-type groups a person filters by: the two daily kinds (slowed or cut off after the allowance) are one. */
export const DATA_TYPE_GROUPS = { fixed: [1], daily: [2, 3], unlimited: [4] } as const satisfies Record<string, readonly number[]>;
export type DataTypeGroup = keyof typeof DATA_TYPE_GROUPS;

export interface PackageSearch {
  /** Case-insensitive substring of the name, package code, slug or primary location's name. */
  text?: string;
  dataType?: DataTypeGroup;
}

/**
 * Narrows an already ordered package list (one location bucket or the whole catalogue) by free text and data
 * type, keeping the order so cursors over the result stay stable. locationName maps a location code to its name.
 */
export function searchPackages(rows: readonly PackageTable[], search: PackageSearch, locationName: (code: string) => string | undefined): PackageTable[] {
  const needle = search.text?.trim().toLowerCase();
  const types: readonly number[] | undefined = search.dataType ? DATA_TYPE_GROUPS[search.dataType] : undefined;
  if (!needle && !types) return [...rows];
  return rows.filter((p) => {
    if (types && !types.includes(p.data_type)) return false;
    if (!needle) return true;
    return (
      p.name.toLowerCase().includes(needle) ||
      p.package_code.toLowerCase().includes(needle) ||
      p.slug.toLowerCase().includes(needle) ||
      (locationName(p.location_code)?.toLowerCase().includes(needle) ?? false)
    );
  });
}
