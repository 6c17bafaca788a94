import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { ActorContext } from '../audit/audit-entry';
import { ErrorResponseDto } from '../common/error-response.dto';
import { validateNewApiKey } from './api-key-policy';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from './auth.decorators';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto, toApiKeyDto, toCreatedApiKeyDto } from './dto/api-key.dto';
import { ManageApiKeysUseCase, Operator } from './manage-api-keys.use-case';
import { Principal } from './permission';

const operator = (actor: ActorContext, principal: Principal): Operator => ({
  actor: actor.actor,
  keyId: principal.keyId,
  requestId: actor.requestId,
  scope: { permissions: [...principal.permissions], strategies: principal.strategies },
});

@ApiTags('admin')
@ApiKeyAuth('MANAGE_API_KEYS')
@Controller('admin/api-keys')
export class ApiKeysController {
  constructor(private readonly manage: ManageApiKeysUseCase) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequirePermissions('MANAGE_API_KEYS')
  @ApiOperation({
    summary: 'Create an API key',
    description: 'The key is in this answer only: it is stored as a SHA-256 hash and never shown again. Audited.',
  })
  @ApiResponse({ status: 201, type: CreatedApiKeyDto })
  @ApiResponse({
    status: 403,
    description: 'API_KEY_ESCALATION: the new key would hold a permission or strategy the acting key lacks',
    type: ErrorResponseDto,
  })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async create(
    @Body() body: CreateApiKeyDto,
    @Actor() actor: ActorContext,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedApiKeyDto> {
    const { record, key } = await this.manage.create(validateNewApiKey(body), operator(actor, principal));
    return toCreatedApiKeyDto(record, key);
  }

  @Get()
  @RequirePermissions('MANAGE_API_KEYS')
  @ApiOperation({
    summary: 'List API keys (revoked ones included), without secrets',
    description:
      "Only keys within the acting key's permissions and strategies are listed. The ADMIN_API_KEY bootstrap key is configuration, not a stored key, and is not listed.",
  })
  @ApiResponse({ status: 200, type: ApiKeyDto, isArray: true })
  async list(@Actor() actor: ActorContext, @CurrentPrincipal() principal: Principal): Promise<ApiKeyDto[]> {
    return (await this.manage.list(operator(actor, principal))).map(toApiKeyDto);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_API_KEYS')
  @ApiOperation({
    summary: 'Revoke an API key',
    description:
      'Soft and idempotent: the key stops working on every replica within about a second. A key cannot revoke itself (409) nor a key outside its own permissions and strategies (403); the ADMIN_API_KEY cannot be revoked here (404). Audited.',
  })
  @ApiResponse({ status: 200, type: ApiKeyDto })
  @ApiResponse({
    status: 403,
    description: 'API_KEY_ESCALATION: the key to revoke holds a permission or strategy the acting key lacks',
    type: ErrorResponseDto,
  })
  @ApiResponse({ status: 404, description: 'No stored key has this id', type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'API_KEY_SELF_REVOCATION', type: ErrorResponseDto })
  async revoke(
    @Param('id') id: string,
    @Actor() actor: ActorContext,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.manage.revoke(id, operator(actor, principal)));
  }
}
