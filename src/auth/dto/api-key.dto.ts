import { ApiProperty } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { PERMISSIONS } from '../permission';
import type { ApiKeyRecord } from '../api-key.repository';

/**
 * The body of POST /admin/api-keys. The fields are only admitted here (unknown
 * ones are refused by name); validateNewApiKey checks them, the same rules the
 * `keys` command applies.
 */
export class CreateApiKeyDto {
  @ApiProperty({
    type: String,
    description: '1-64 characters; names the key in audit rows.',
    example: 'signal-service',
  })
  @Allow()
  name!: unknown;

  @ApiProperty({ description: 'At least one permission.', enum: PERMISSIONS, isArray: true, example: ['SUBMIT_ORDER'] })
  @Allow()
  permissions!: unknown;

  @ApiProperty({
    description: 'Strategy ids the key may act for; ["*"] for all.',
    type: [String],
    example: ['alpha_baseline'],
  })
  @Allow()
  strategies!: unknown;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The first characters of the key, to tell keys apart (not a secret).' })
  key_prefix!: string;
  @ApiProperty({ enum: PERMISSIONS, isArray: true }) permissions!: string[];
  @ApiProperty({ type: [String] }) strategies!: string[];
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ description: 'Who created it: a key name, `cli` or `system`.' }) created_by!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revoked_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) revoked_by!: string | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Accurate to about ten seconds.',
  })
  last_used_at!: string | null;
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'The key itself: shown in this answer only, never again.' }) key!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: PERMISSIONS, isArray: true }) permissions!: string[];
  @ApiProperty({ type: [String] }) strategies!: string[];
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}

/** Whitelists the listed fields: the hash never reaches a response. */
export function toApiKeyDto(r: ApiKeyRecord): ApiKeyDto {
  return {
    id: r.id,
    name: r.name,
    key_prefix: r.keyPrefix,
    permissions: [...r.permissions],
    strategies: [...r.strategies],
    created_at: r.createdAt.toISOString(),
    created_by: r.createdBy,
    revoked_at: r.revokedAt?.toISOString() ?? null,
    revoked_by: r.revokedBy,
    last_used_at: r.lastUsedAt?.toISOString() ?? null,
  };
}

export function toCreatedApiKeyDto(r: ApiKeyRecord, key: string): CreatedApiKeyDto {
  return {
    id: r.id,
    key,
    name: r.name,
    permissions: [...r.permissions],
    strategies: [...r.strategies],
    created_at: r.createdAt.toISOString(),
  };
}
