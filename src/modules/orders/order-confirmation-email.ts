import { escapeHtml } from '../../platform/mail/html.js';
import type { MailMessage } from '../../platform/mail/mailer.js';
import type { OrderLine } from './pricing.js';

export interface OrderConfirmationPayload {
  orderId: string;
  email: string;
  name: string;
  lines: OrderLine[];
  total: number;
  currency: string;
}

/** 1999 USD → "19.99 USD": minor units to the currency's usual two decimals. */
export function formatMoney(minor: number, currency: string): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

/** The order confirmation, as text and HTML; names are user input, so HTML-escaped. */
export function orderConfirmationEmail(
  p: OrderConfirmationPayload,
): Omit<MailMessage, 'messageId'> {
  const money = (minor: number) => formatMoney(minor, p.currency);
  const textLines = p.lines.map(
    (l) => `  ${l.quantity} × ${l.name} at ${money(l.unitPrice)} = ${money(l.lineTotal)}`,
  );
  const htmlRows = p.lines.map(
    (l) =>
      `<tr><td>${l.quantity}</td><td>${escapeHtml(l.name)}</td>` +
      `<td>${money(l.unitPrice)}</td><td>${money(l.lineTotal)}</td></tr>`,
  );
  return {
    to: p.email,
    subject: `Your Stratum order ${p.orderId}`,
    text:
      `Hello ${p.name},\n\nthank you for your order ${p.orderId}. It is paid.\n\n` +
      `${textLines.join('\n')}\n\nTotal: ${money(p.total)}\n\n— Stratum\n`,
    html:
      `<!doctype html><html><body><p>Hello ${escapeHtml(p.name)},</p>` +
      `<p>thank you for your order ${p.orderId}. It is paid.</p>` +
      `<table><tr><th>Qty</th><th>Item</th><th>Price</th><th>Total</th></tr>${htmlRows.join('')}</table>` +
      `<p>Total: <strong>${money(p.total)}</strong></p><p>— Stratum</p></body></html>`,
  };
}
