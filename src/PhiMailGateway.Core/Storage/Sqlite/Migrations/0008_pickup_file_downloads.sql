-- Pickup:MaxDownloads counts per file (issue 22): downloading file 1 of 2 must not use up file 2.
-- pickup_packages.download_count becomes the count of the package's least-downloaded file, so a
-- package is used up (and its content purged) only once every file has reached the cap. Files of
-- packages made before this counted every download against all of them: they start from that count.
-- Numbered 22 after the issue, so that it cannot collide with another branch's next number.
ALTER TABLE pickup_files ADD COLUMN download_count INTEGER NOT NULL DEFAULT 0;
UPDATE pickup_files SET download_count =
    (SELECT p.download_count FROM pickup_packages p WHERE p.package_id = pickup_files.package_id);
