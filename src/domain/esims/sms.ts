import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.ts';
import { DomainError } from '../errors.ts';
import { newId } from '../../lib/ids.ts';
import { findEsim, type EsimRef } from './esims.ts';

export const SMS_MAX_CHARS = 500;
const INSTALLED = ['INSTALLATION', 'ENABLED', 'DISABLED'];

/** esim/sendSms: only to installed eSIMs whose plan takes SMS (smsStatus 1 or 2). Sandbox keeps every message. */
export async function sendSms(db: Kysely<DB>, partnerId: string, ref: EsimRef, message: string, nowMs: number): Promise<{ messageId: string }> {
  if (message.length === 0 || [...message].length > SMS_MAX_CHARS) throw new DomainError('invalid_argument', `message must be 1..${SMS_MAX_CHARS} characters`, { esimAccessCode: '000107' });
  const esim = await findEsim(db, partnerId, ref);
  if (esim.sms_status !== 1 && esim.sms_status !== 2) {
    throw new DomainError('invalid_state', `This eSIM's plan does not support SMS (smsStatus ${esim.sms_status})`);
  }
  if (!INSTALLED.includes(esim.smdp_status)) throw new DomainError('invalid_state', `SMS can only be sent to an installed eSIM (smdpStatus is ${esim.smdp_status})`);
  if (['CANCEL', 'REVOKE', 'UNUSED_EXPIRED', 'USED_EXPIRED', 'SUSPENDED'].includes(esim.esim_status)) {
    throw new DomainError('invalid_state', `SMS cannot be sent while the eSIM is ${esim.esim_status}`);
  }
  const messageId = newId('sms', nowMs);
  await db.insertInto('sms_messages').values({ id: messageId, esim_id: esim.id, partner_id: partnerId, direction: 'mt', sender: 'API', body: message, created_at: nowMs }).execute();
  return { messageId };
}

/** A message the device received from the network (sandbox), only where the plan takes SMS from phones (smsStatus 1). */
export async function receiveSms(db: Kysely<DB>, partnerId: string, ref: EsimRef, sender: string, message: string, nowMs: number): Promise<{ messageId: string }> {
  if (message.length === 0 || [...message].length > SMS_MAX_CHARS) throw new DomainError('invalid_argument', `message must be 1..${SMS_MAX_CHARS} characters`);
  const esim = await findEsim(db, partnerId, ref);
  if (esim.sms_status !== 1) throw new DomainError('invalid_state', `This eSIM only accepts SMS sent through the API (smsStatus ${esim.sms_status})`);
  if (!INSTALLED.includes(esim.smdp_status)) throw new DomainError('invalid_state', `the eSIM is not installed (smdpStatus ${esim.smdp_status})`);
  const messageId = newId('sms', nowMs);
  await db.insertInto('sms_messages').values({ id: messageId, esim_id: esim.id, partner_id: partnerId, direction: 'mo', sender: sender.slice(0, 40), body: message, created_at: nowMs }).execute();
  return { messageId };
}

export async function listSms(db: Kysely<DB>, partnerId: string, ref: EsimRef) {
  const esim = await findEsim(db, partnerId, ref);
  return db.selectFrom('sms_messages').select(['id', 'direction', 'sender', 'body', 'created_at']).where('esim_id', '=', esim.id).orderBy('created_at').orderBy('id').execute();
}
