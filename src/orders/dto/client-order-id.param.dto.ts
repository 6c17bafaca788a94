import { ApiProperty } from '@nestjs/swagger';
import { Identifier } from '../../common/validators';

export class ClientOrderIdParamDto {
  @ApiProperty({ description: "The order's client_order_id.", example: '9467f0b30ecb46c52247b400' })
  @Identifier(48)
  client_order_id!: string;
}
