SET search_path = fh_scale;
\timing on
INSERT INTO findings (key_hash, account_id, region, product_arn, finding_id, generator_id, title, severity_label,
  severity_normalized, confidence, criticality, workflow_status, record_state, compliance_status, verification_state,
  product_name, company_name, created_at, updated_at, first_observed_at, last_observed_at, touched, doc)
SELECT kh, acct, 'us-east-1', parn, fid, gen, title, sev, sevn, conf, -9223372036854775808, wf, 'ACTIVE', comp, '',
  'GuardDuty', 'Amazon', upd - 86400000000, upd, upd - 86400000000, upd, 0,
  jsonb_build_object('SchemaVersion','2018-10-08','Id',fid,'ProductArn',parn,'GeneratorId',gen,'AwsAccountId',acct,
    'Region','us-east-1','Types',jsonb_build_array('TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort'),
    'CreatedAt',to_char(to_timestamp((upd - 86400000000)/1e6) at time zone 'UTC','YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'UpdatedAt',to_char(to_timestamp(upd/1e6) at time zone 'UTC','YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'Severity',jsonb_build_object('Label',sev,'Normalized',sevn::int),'Confidence',conf::int,'Title',title,
    'Description',(SELECT string_agg(md5((i * 20 + k)::text), ' ') FROM generate_series(1, 20) k),
    'ProductName','GuardDuty','CompanyName','Amazon',
    'Resources',jsonb_build_array(jsonb_build_object('Type','AwsEc2Instance','Id',rid,'Partition','aws','Region','us-east-1',
       'Tags',jsonb_build_object('env', CASE WHEN i % 3 = 0 THEN 'prod' ELSE 'dev' END))),
    'Workflow',jsonb_build_object('Status',wf),'WorkflowState','NEW','RecordState','ACTIVE',
    'FindingProviderFields',jsonb_build_object('Severity',jsonb_build_object('Label',sev),'Types',jsonb_build_array('TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort')))
FROM (
  SELECT i,
    (hashint8(i) # (hashint8(i + 7) << 32)) AS kh,
    (ARRAY['111111111111','222222222222','333333333333','444444444444'])[(1 + i % 4)::int] AS acct,
    'arn:aws:securityhub:us-east-1::product/aws/guardduty' AS parn,
    'arn:aws:guardduty:us-east-1:' || (ARRAY['111111111111','222222222222','333333333333','444444444444'])[(1 + i % 4)::int] || ':detector/d/finding/' || md5(i::text) AS fid,
    'arn:aws:guardduty:us-east-1:detector/' || (i % 40) AS gen,
    (ARRAY['Unprotected port on EC2 instance is being probed','SSH brute force attacks','Key rotation is not enabled','Root account used','Outbound traffic to a bitcoin domain','S3 bucket is public','Security group allows 0.0.0.0/0'])[(1 + (i / 7) % 7)::int] || ' ' || (i % 1000) AS title,
    (ARRAY['LOW','MEDIUM','HIGH','CRITICAL','INFORMATIONAL'])[(1 + (i * 7919) % 5)::int] AS sev,
    ((i * 7919) % 5) * 20.0 AS sevn,
    ((i * 31) % 101)::float8 AS conf,
    CASE WHEN i % 10 < 7 THEN 'NEW' WHEN i % 10 < 9 THEN 'NOTIFIED' ELSE 'RESOLVED' END AS wf,
    CASE WHEN i % 5 = 0 THEN 'FAILED' ELSE '' END AS comp,
    1764000000000000 - (i * 5184000000000 / 1000000) AS upd,
    'arn:aws:ec2:us-east-1:' || (ARRAY['111111111111','222222222222','333333333333','444444444444'])[(1 + i % 4)::int] || ':instance/i-' || lpad(to_hex(i % 200000), 17, '0') AS rid
  FROM generate_series(1::int8, :n) AS i
) g;
INSERT INTO finding_attrs (field, value, seq)
SELECT 1, doc->'Resources'->0->>'Id', seq FROM findings
UNION ALL SELECT 2, 'AwsEc2Instance', seq FROM findings
UNION ALL SELECT 3, 'TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort', seq FROM findings
ON CONFLICT DO NOTHING;
INSERT INTO finding_history (seq, update_time, created, source, identity, updates)
SELECT seq, created_at, true, 'BATCH_IMPORT_FINDINGS', product_arn, '[]'::jsonb FROM findings;
ANALYZE;
