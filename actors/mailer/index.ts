export { MAIL_LEASE_MS, SMTP_TIMEOUT_MS, sendDue, startMailer, type MailerOptions } from "./mailer";
export { isPermanent, retryDelayMs } from "./backoff";
