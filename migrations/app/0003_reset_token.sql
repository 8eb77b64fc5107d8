-- Password resets carry two secrets: the 6-digit code (used with the email) and a long random reset
-- token (the only thing accepted without an email, as the SDK's resetPassword(token, newPassword)
-- sends). A 6-digit code matched across every user of an app would be guessable.
ALTER TABLE auth.one_time_codes DROP CONSTRAINT one_time_codes_purpose_check
--> statement-breakpoint
ALTER TABLE auth.one_time_codes ADD CONSTRAINT one_time_codes_purpose_check
  CHECK (purpose IN ('verify_email', 'magic_link', 'password_reset', 'password_reset_token'))
