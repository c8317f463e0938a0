-- What `pickup list` shows IT to tell packages for one address apart: the Message-ID, and the subject
-- sealed (AES-GCM, key derived from the master key) because a subject can name a patient. Deleted
-- with the package's content when it is purged, so the subject does not outlive the files.
CREATE TABLE pickup_labels (
    package_id      TEXT NOT NULL PRIMARY KEY REFERENCES pickup_packages (package_id),
    message_id      TEXT,
    sealed_subject  BLOB
);
