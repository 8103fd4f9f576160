\timing on
DROP TABLE IF EXISTS ic; DROP TABLE IF EXISTS ica;
CREATE UNLOGGED TABLE ic_src AS SELECT * FROM findings ORDER BY seq LIMIT 50000;
CREATE UNLOGGED TABLE ica_src AS SELECT a.* FROM finding_attrs a WHERE a.seq IN (SELECT seq FROM ic_src);
SELECT count(*) FROM ica_src;
CREATE TABLE ic (LIKE findings);
CREATE TABLE ica (LIKE finding_attrs);
-- findings rows alone (heap + TOAST), then with each index added in turn
INSERT INTO ic SELECT * FROM ic_src;
TRUNCATE ic; ALTER TABLE ic ADD PRIMARY KEY (seq);
INSERT INTO ic SELECT * FROM ic_src;
TRUNCATE ic; ALTER TABLE ic ADD UNIQUE (product_arn, finding_id, account_id, region);
INSERT INTO ic SELECT * FROM ic_src;
TRUNCATE ic; CREATE INDEX ON ic (updated_at, key_hash, seq);
INSERT INTO ic SELECT * FROM ic_src;
TRUNCATE ic; CREATE INDEX ON ic (account_id, region, updated_at, key_hash, seq);
INSERT INTO ic SELECT * FROM ic_src;
-- attribute rows alone, with their primary key, with the index on seq
INSERT INTO ica SELECT * FROM ica_src;
TRUNCATE ica; ALTER TABLE ica ADD PRIMARY KEY (field, value, seq);
INSERT INTO ica SELECT * FROM ica_src;
TRUNCATE ica; CREATE INDEX ON ica (seq);
INSERT INTO ica SELECT * FROM ica_src;
DROP TABLE ic; DROP TABLE ica; DROP TABLE ic_src; DROP TABLE ica_src;
