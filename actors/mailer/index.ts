export { MAIL_LEASE_MS, SEND_CONCURRENCY, SMTP_TIMEOUT_MS, sendDue, startMailer, type MailerOptions } from "./mailer";
export { isPermanent, retryDelayMs } from "./backoff";
