export interface BrandingData {
  configured: boolean;
  display_name: string;
  logo_data_url: string | null;
  accent_color: string;
  updated_at: string | null;
}

export const LOGO_MAX_BYTES = 100 * 1024;
export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml'];
