// Imports every domain, then builds the schema. Nothing is defined here.
import { builder } from './builder';
import './errors/types';
import './organization/types';
import './organization/operations';
import './organization/api-key-types';
import './organization/api-key-operations';
import './sources/types';
import './sources/operations';
import './destinations/types';
import './destinations/operations';
import './retention/types';
import './retention/operations';
import './strategies/types';
import './strategies/operations';
import './audit/types';
import './audit/operations';
import './backups/types';
import './backups/operations';
import './immutability/types';
import './immutability/operations';
import './restores/types';
import './restores/operations';
import './verification/types';
import './verification/operations';
import './backups/subscriptions';

export const schema = builder.toSchema();
