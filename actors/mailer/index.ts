export { isPermanent, retryDelayMs } from "./backoff";
export { MAIL_LEASE_MS, type MailerOptions, SEND_CONCURRENCY, SMTP_TIMEOUT_MS, sendDue, startMailer } from "./mailer";
