export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<…@…>`; a retried send of the same job reuses it, so clients can spot a duplicate. */
  messageId?: string;
}

/** The mail port: SMTP or files, chosen in the composition root. */
export interface Mailer {
  send(message: MailMessage): Promise<{ messageId: string }>;
}
